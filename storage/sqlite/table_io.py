"""Whole tables in and out of a SQLite index copy, for migrate and the PostgreSQL backup.

The rows go as they are (ids, uids, sealed values, times), so the other index holds the
same data. The copy that a PostgreSQL backup writes is a normal gateway.db: restore
checks and opens it as any backup's index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..file_modes import touch_private
from ..maintenance.tables import Table
from .database import Database

BATCH = 1000


def _name(identifier: str) -> str:
    """A table or column name of the schema, quoted; anything else is refused."""
    if not identifier.replace("_", "a").isalnum() or not identifier.isascii():
        raise ValueError(f"not a schema name: {identifier!r}")
    return f'"{identifier}"'


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def table_rows(conn: sqlite3.Connection, table: str, columns: Sequence[str]) -> Iterator[tuple]:
    """Every row of `table` (columns in that order), in batches."""
    names = ", ".join(map(_name, columns))
    cur = conn.execute(f"SELECT {names} FROM {_name(table)}")  # noqa: S608 (checked names)
    while batch := cur.fetchmany(BATCH):
        for row in batch:
            yield tuple(row)


def table_count(conn: sqlite3.Connection, table: str) -> int:
    query = f"SELECT count(*) FROM {_name(table)}"  # noqa: S608 (checked name)
    return int(conn.execute(query).fetchone()[0])


def create_index_copy(path: Path) -> sqlite3.Connection:
    """A new, empty gateway.db at `path` with this version's schema (0600), opened."""
    touch_private(path)
    Database(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def insert_rows(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert `rows` into `table` of an index copy (inside the caller's transaction)."""
    marks = ", ".join("?" for _ in columns)
    names = ", ".join(map(_name, columns))
    sql = f"INSERT INTO {_name(table)} ({names}) VALUES ({marks})"  # noqa: S608 (checked names)
    return _run_batched(conn, sql, rows)


def _run_batched(conn: sqlite3.Connection, sql: str, rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.executemany(sql, batch)
            count, batch = count + len(batch), []
    if batch:
        conn.executemany(sql, batch)
        count += len(batch)
    return count


def message_objects(conn: sqlite3.Connection) -> list[tuple[str, str, str, int]]:
    """(id, path, SHA-256, stored size) of every message in an index copy, by path."""
    cur = conn.execute("SELECT id, path, sha256, stored_size FROM messages ORDER BY path")
    return [tuple(row) for row in cur.fetchall()]


class LiveIndex:
    """A live index opened read-only: is a message (still) there?"""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def is_indexed(self, message_id: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM messages WHERE id=?", (message_id,)).fetchone()
        return row is not None

    def close(self) -> None:
        self._conn.close()


class SqliteTableWriter:
    """PgTableWriter's counterpart for a SQLite target index (say SQLite + files into
    SQLite + S3): its own connection, every change in one BEGIN IMMEDIATE transaction."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[None]:
        yield

    def columns(self, table: str) -> list[str]:
        return table_columns(self._conn, table)

    def keys(self, table: Table) -> set[tuple]:
        return set(table_rows(self._conn, table.name, table.key))

    def count(self, table: str) -> int:
        return table_count(self._conn, table)

    def message_digests(self) -> dict[str, str]:
        return dict(table_rows(self._conn, "messages", ("id", "sha256")))

    def paths_of(self, message_ids: list[str]) -> list[str]:
        wanted = set(message_ids)
        rows = table_rows(self._conn, "messages", ("id", "path"))
        return [path for message_id, path in rows if message_id in wanted]

    def delete_keys(self, table: Table, keys: Iterable[tuple]) -> int:
        where = " AND ".join(f"{_name(c)} = ?" for c in table.key)
        batch = list(keys)
        sql = f"DELETE FROM {_name(table.name)} WHERE {where}"  # noqa: S608 (checked names)
        self._conn.executemany(sql, batch)
        return len(batch)

    def upsert(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert or update by primary key; a row that is already equal is left alone."""
        others = [c for c in columns if c not in table.key]
        head = (
            f"INSERT INTO {_name(table.name)} ({', '.join(map(_name, columns))})"  # noqa: S608
            f" VALUES ({', '.join('?' for _ in columns)})"
            f" ON CONFLICT ({', '.join(map(_name, table.key))}) "
        )
        if others:
            sets = ", ".join(f"{_name(c)} = excluded.{_name(c)}" for c in others)
            same = " AND ".join(f"{_name(c)} IS excluded.{_name(c)}" for c in others)
            head += f"DO UPDATE SET {sets} WHERE NOT ({same})"
        else:
            head += "DO NOTHING"
        return _run_batched(self._conn, head, rows)

    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
