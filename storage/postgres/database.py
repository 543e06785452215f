"""PostgreSQL connections for the store: one per thread, transactions as in SQLite.

The areas' SQL is written once, in the portable subset both engines run (question-mark
and `:name` parameters, `ON CONFLICT` upserts, TRUE/FALSE, `lower(x) LIKE`); this module
turns it into psycopg's parameter style. Rows read like sqlite3.Row: by position, by
column name, and unpacked.

Writes are serialised as in SQLite (BEGIN IMMEDIATE) by one transaction-level advisory
lock, so the areas' read-then-write checks hold across nodes too. Deliveries take that
lock shared: they run concurrently with each other and rely on the mailbox row lock
(storage/postgres/messages.py), and wait only for admin writes.

Every failure of the server or the connection is IndexUnavailable (a temporary storage
error: SMTP answers 4xx); the thread's connection is then dropped and the next call
connects again, so the store recovers by itself once PostgreSQL is back.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Loader

from ..errors import AlreadyExists, InvalidInput, NotFound
from ..transactions import NestedTransactions
from .connection import CONNECT_TIMEOUT, IndexUnavailable, describe, prepare_index

WRITE_LOCK = 0x4A475732  # "JGW2": the index's writer lock (migrations use "JGW1")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_LITERAL = re.compile(r"('(?:[^']|'')*')")


@lru_cache(maxsize=512)
def to_psycopg(sql: str) -> str:
    """`?` and `:name` parameters as psycopg's `%s` and `%(name)s`, outside string
    literals; `%` escaped everywhere."""
    parts = _LITERAL.split(sql.replace("%", "%%"))
    for n in range(0, len(parts), 2):  # the even parts are outside quotes
        parts[n] = _NAMED.sub(r"%(\1)s", parts[n].replace("?", "%s"))
    return "".join(parts)


class Row(tuple):
    """A result row: row[0], row["column"], and unpacking, like sqlite3.Row."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    names = [column.name for column in cursor.description or ()]
    index = {name: n for n, name in enumerate(names)}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row._index = index
        return row

    return make


class _NumericLoader(Loader):
    """sum() of bigint columns is numeric in PostgreSQL: read it as int (as SQLite gives)."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


def translate_error(exc: psycopg.Error) -> Exception:
    """The store error for a psycopg error (the original is chained, never shown)."""
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return AlreadyExists("that already exists (changed at the same time elsewhere)")
    if isinstance(exc, psycopg.errors.ForeignKeyViolation):
        return NotFound("what this refers to was removed at the same time elsewhere")
    if isinstance(exc, psycopg.DataError):
        return InvalidInput("a value cannot be stored (for example a NUL character in text)")
    return IndexUnavailable("the index is unavailable, try again later")


class PgConnection:
    """One thread's connection, running the areas' portable SQL (see to_psycopg).

    A statement outside a transaction (a read, or the BEGIN of a write) that finds the
    connection dead, say after PostgreSQL restarted, runs once more on a new one from
    `reconnect`: only the first caller after an outage that is still going on fails.
    """

    def __init__(
        self,
        raw: psycopg.Connection[Any],
        reconnect: Callable[[], psycopg.Connection[Any]] | None = None,
    ) -> None:
        self.raw = raw
        self._reconnect = reconnect

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    @property
    def broken(self) -> bool:
        return self.raw.closed or self.raw.broken

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        idle = not self.broken and not self.in_transaction
        try:
            return self._run(sql, params)
        except IndexUnavailable:
            if not (idle and self.broken and self._reconnect is not None):
                raise
        with suppress(psycopg.Error):
            self.raw.close()
        self.raw = self._reconnect()
        return self._run(sql, params)

    def _run(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> Any:
        try:
            if not params:  # psycopg leaves a query without parameters as it is: no %%
                return self.raw.execute(sql)
            return self.raw.execute(to_psycopg(sql), params)
        except psycopg.Error as exc:
            raise translate_error(exc) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        try:
            with self.raw.cursor() as cur:
                cur.executemany(to_psycopg(sql), rows)
                return cur
        except psycopg.Error as exc:
            raise translate_error(exc) from exc


class PostgresDatabase(NestedTransactions):
    """The PostgreSQL index: migrated at open, then one connection per thread."""

    def __init__(self, dsn: str, *, password: str | None = None) -> None:
        super().__init__()
        self.dsn, self._password = dsn, password
        self.where = describe(dsn)
        prepare_index(dsn, password=password)
        self._lock = threading.Lock()
        self._all: list[PgConnection] = []

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection with the row and numeric adaptation of the areas."""
        try:
            raw = psycopg.connect(
                self.dsn,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                password=self._password,
                row_factory=_row_factory,
            )
        except psycopg.Error as exc:
            raise IndexUnavailable("cannot reach the index at {where}", where=self.where) from exc
        raw.adapters.register_loader("numeric", _NumericLoader)
        return raw

    def conn(self) -> PgConnection:
        conn: PgConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.broken:
            self._forget(conn)
            conn = None
        if conn is None:
            conn = self._local.conn = PgConnection(self.connect(), self.connect)
            with self._lock:
                self._all.append(conn)
        return conn

    def backend_pids(self) -> set[int]:
        """The server processes of this store's connections (NOTIFY names its sender's)."""
        with self._lock:
            return {c.raw.info.backend_pid for c in self._all if not c.broken}

    def _forget(self, conn: PgConnection) -> None:
        with suppress(psycopg.Error):
            conn.raw.close()
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        self._local.conn = None

    def one_row(self, sql: str, params: tuple, missing: str) -> Row:
        row = self.conn().execute(sql, params).fetchone()
        if row is None:
            raise NotFound(missing)
        return row

    def _begin_write(self, conn: PgConnection) -> None:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))

    def _in_transaction(self, conn: PgConnection) -> bool:
        return not conn.broken and conn.in_transaction

    def _rollback(self, conn: PgConnection) -> None:
        """Never raises: a connection that broke has nothing left to roll back."""
        if conn.broken:
            self._forget(conn)
            return
        try:
            conn.execute("ROLLBACK")
        except IndexUnavailable:
            self._forget(conn)

    @contextmanager
    def delivery(self) -> Iterator[PgConnection]:
        """A transaction for committing deliveries: the writer lock taken shared, so
        deliveries from every node run side by side (never inside write() or atomic())."""
        assert not self._nested(), "deliveries are committed in their own transaction"
        conn = self.conn()
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock_shared(?)", (WRITE_LOCK,))
            yield conn
        except BaseException:
            self._rollback(conn)
            raise
        self._commit(conn)

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """The statements inside read one snapshot (a caller's open transaction is one)."""
        conn = self.conn()
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        except BaseException:
            self._rollback(conn)
            raise
        self._commit(conn)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with suppress(psycopg.Error):
                    conn.raw.close()
            self._all.clear()
        self._local = threading.local()
