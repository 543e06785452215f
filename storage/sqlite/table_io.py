"""Whole tables in and out of a SQLite index copy, for migrate and the PostgreSQL backup.

The rows go as they are (ids, uids, sealed values, times), so the other index holds the
same data. The copy that a PostgreSQL backup writes is a normal gateway.db: restore
checks and opens it as any backup's index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..file_modes import touch_private
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
