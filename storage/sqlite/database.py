"""SQLite connections: one per thread, WAL, synchronous=FULL, foreign keys on.

The index file is created 0600 before SQLite first opens it: SQLite gives the -wal and
-shm files the database file's mode, whatever the umask. secure_delete=FAST zeroes
deleted row content inside pages, so an overwritten value does not linger in the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import NotADataDirectory, NotFound
from ..file_modes import touch_private
from ..transactions import NestedTransactions
from .schema import ADDED_COLUMNS, APPLICATION_ID, BACKFILL, SCHEMA, SCHEMA_VERSION, TRIGGERS


class Database(NestedTransactions):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._refuse_foreign()
        touch_private(self.path)
        self._initialize()

    def _refuse_foreign(self) -> None:
        """Refuse someone else's file before any connection with our pragmas changes it."""
        if not self.path.exists():
            return
        try:
            probe = sqlite3.connect(self.path)
            try:
                app_id = probe.execute("PRAGMA application_id").fetchone()[0]
                tables = probe.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            finally:
                probe.close()
        except sqlite3.DatabaseError:
            raise NotADataDirectory(
                "{path} is not a Journal Gateway index", path=self.path
            ) from None
        if app_id != APPLICATION_ID and tables:
            raise NotADataDirectory("{path} is not a Journal Gateway index", path=self.path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA secure_delete=FAST")
        with self._lock:
            self._all.append(conn)
        return conn

    def _initialize(self) -> None:
        conn = self.conn()
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        for trigger in TRIGGERS:
            conn.execute(trigger)
        self._add_columns(conn)
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )

    @staticmethod
    def _add_columns(conn: sqlite3.Connection) -> None:
        """Idempotent migration of an older index, in one transaction (several processes
        may open the same index at once: the second finds the columns already there)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table, column, declaration in ADDED_COLUMNS:
                present = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            for statement in BACKFILL:
                conn.execute(statement)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def one_row(self, sql: str, params: tuple, missing: str) -> sqlite3.Row:
        """The first row `sql` selects (this thread's connection); NotFound(missing) if none."""
        row = self.conn().execute(sql, params).fetchone()
        if row is None:
            raise NotFound(missing)
        return row

    def _begin_write(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def _in_transaction(self, conn: sqlite3.Connection) -> bool:
        return conn.in_transaction

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """The statements inside read one snapshot (a caller's open transaction is one)."""
        conn = self.conn()
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
