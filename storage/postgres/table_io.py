"""Whole tables in and out of the PostgreSQL index, for migrate and backup.

`PgTableWriter` makes the index hold exactly the rows it is given (upsert by primary
key, delete the rest) in one transaction under the writer lock, so a node that looks
at it sees the state before or after, never a half-copied one. `dump_to_sqlite` reads
every table in one REPEATABLE READ snapshot into a SQLite index copy (a backup's
gateway.db). Rows keep their ids; booleans become SQLite's 0/1 and back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ..maintenance.tables import COPIED_TABLES, Table
from ..sqlite.snapshot import SqliteIndexSnapshot
from ..sqlite.table_io import create_index_copy, insert_rows, table_columns
from .database import WRITE_LOCK, PostgresDatabase, translate_error

BATCH = 1000
SKIPPED_META = ("schema_version", "ready_check")


def _columns(raw: psycopg.Connection[Any], table: str) -> dict[str, tuple[str, bool]]:
    """column → (data type, is an identity column), in table order."""
    rows = raw.execute(
        "SELECT column_name, data_type, is_identity FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return {row[0]: (row[1], row[2] == "YES") for row in rows}


@contextmanager
def _translated() -> Iterator[None]:
    """psycopg's errors as the store's (IndexUnavailable, ...): a clear message, no DSN."""
    try:
        yield
    except psycopg.Error as exc:
        raise translate_error(exc) from exc


class PgTableWriter:
    """One connection of its own; `transaction()` around every change (and every call
    inside it, so any psycopg error surfaces as the store's error)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._raw = db.connect()

    def close(self) -> None:
        self._raw.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with _translated(), self._raw.transaction():
            self._raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Around reads made outside `transaction()`."""
        with _translated():
            yield

    def columns(self, table: str) -> list[str]:
        return list(_columns(self._raw, table))

    def keys(self, table: Table) -> set[tuple]:
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, table.key)), sql.Identifier(table.name)
        )
        return {tuple(row) for row in self._raw.execute(query)}

    def count(self, table: str) -> int:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        row = self._raw.execute(query).fetchone()
        assert row is not None  # count(*) always gives one row
        return int(row[0])

    def message_digests(self) -> dict[str, str]:
        """message id → SHA-256 of every message row."""
        return {row[0]: row[1] for row in self._raw.execute("SELECT id, sha256 FROM messages")}

    def paths_of(self, message_ids: list[str]) -> list[str]:
        rows = self._raw.execute("SELECT path FROM messages WHERE id = ANY(%s)", (message_ids,))
        return [row[0] for row in rows]

    def delete_keys(self, table: Table, keys: Iterable[tuple]) -> int:
        where = sql.SQL(" AND ").join(
            sql.SQL("{} = %s").format(sql.Identifier(c)) for c in table.key
        )
        query = sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(table.name), where)
        batch = list(keys)
        if batch:
            with self._raw.cursor() as cur:
                cur.executemany(query, batch)
        return len(batch)

    def upsert(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert or update `rows` by primary key; a row that is already equal is left
        alone (no trigger fires for it). SQLite's 0/1 become booleans."""
        types = _columns(self._raw, table.name)
        booleans = [n for n, c in enumerate(columns) if types[c][0] == "boolean"]
        identity = any(types[c][1] for c in columns)
        query = _upsert_sql(table, columns, identity)
        count = 0
        with self._raw.cursor() as cur:
            for batch in _batches(rows):
                if booleans:
                    batch = [_with_booleans(row, booleans) for row in batch]
                cur.executemany(query, batch)
                count += len(batch)
        if identity:
            self._raw.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({0}, 'id'),"
                    " greatest((SELECT max(id) FROM {1}), 1))"
                ).format(sql.Literal(table.name), sql.Identifier(table.name))
            )
        return count

    def meta(self, key: str) -> str | None:
        row = self._raw.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._raw.execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, value),
        )


def _upsert_sql(table: Table, columns: Sequence[str], identity: bool) -> sql.Composed:
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    marks = sql.SQL(", ").join(sql.Placeholder() for _ in columns)
    key = sql.SQL(", ").join(map(sql.Identifier, table.key))
    others = [c for c in columns if c not in table.key]
    overriding = sql.SQL(" OVERRIDING SYSTEM VALUE") if identity else sql.SQL("")
    head = sql.SQL("INSERT INTO {} ({}){} VALUES ({}) ON CONFLICT ({}) ").format(
        sql.Identifier(table.name), names, overriding, marks, key
    )
    if not others:
        return head + sql.SQL("DO NOTHING")
    sets = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in others
    )
    mine = sql.SQL(", ").join(
        sql.SQL("{}.{}").format(sql.Identifier(table.name), sql.Identifier(c)) for c in others
    )
    theirs = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in others)
    return head + sql.SQL("DO UPDATE SET {} WHERE ROW({}) IS DISTINCT FROM ROW({})").format(
        sets, mine, theirs
    )


def _with_booleans(row: Sequence[Any], booleans: list[int]) -> list[Any]:
    values = list(row)
    for n in booleans:
        if values[n] is not None:
            values[n] = bool(values[n])
    return values


def _batches(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def snapshot_to_sqlite(db: PostgresDatabase, target: Path) -> SqliteIndexSnapshot:
    """The index as one committed state in a new SQLite index copy at `target`, for a
    backup (storage/maintenance/backup.py treats it as any index snapshot)."""
    conn = create_index_copy(target)
    try:
        dump_to_sqlite(db, conn)
    finally:
        conn.close()
    snapshot = SqliteIndexSnapshot(target)
    snapshot.origin = "postgresql"
    return snapshot


def dump_to_sqlite(db: PostgresDatabase, target: sqlite3.Connection) -> None:
    """Copy every table (and the seal-key check in meta) into the empty SQLite index copy
    `target`, all read in one REPEATABLE READ snapshot: one committed state, while
    deliveries on every node go on."""
    raw = db.connect()
    try:
        with _translated():
            _dump(raw, target)
    finally:
        raw.close()


def _dump(raw: psycopg.Connection[Any], target: sqlite3.Connection) -> None:
    try:
        raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        target.execute("BEGIN")
        for key, value in raw.execute("SELECT key, value FROM meta").fetchall():
            if key not in SKIPPED_META:
                target.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
                )
        for table in COPIED_TABLES:
            wanted = set(table_columns(target, table.name))
            columns = [c for c in _columns(raw, table.name) if c in wanted]
            query = sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table.name)
            )
            with raw.cursor(name=f"dump_{table.name}") as cur:
                cur.itersize = BATCH
                cur.execute(query)
                insert_rows(target, table.name, columns, (tuple(row) for row in cur))
        target.execute("COMMIT")
        raw.execute("COMMIT")
    except BaseException:
        if target.in_transaction:
            target.execute("ROLLBACK")
        raise
