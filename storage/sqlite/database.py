"""SQLite connections: one per thread, WAL, synchronous=FULL, foreign keys on."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import NotADataDirectory
from .schema import APPLICATION_ID, SCHEMA, SCHEMA_VERSION, TRIGGERS


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._refuse_foreign()
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
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): committed on exit, rolled back on error."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
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
