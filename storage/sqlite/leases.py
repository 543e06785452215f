"""Leases in the index: one row per held name, with its owner and expiry (Unix time).

Every process on the data directory sees the same rows, and SQLite serialises the
writers, so acquire is a compare-and-set across workers. Expiry uses the wall clock,
shared by the processes of one host.
"""

from __future__ import annotations

import time

from .database import Database


class SqliteLeases:
    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(self, name: str, owner: str, ttl: float) -> bool:
        now = time.time()
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO leases(name, owner, expires) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, expires=excluded.expires"
                " WHERE leases.owner=excluded.owner OR leases.expires<?",
                (name, owner, now + ttl, now),
            )
            row = conn.execute("SELECT owner FROM leases WHERE name=?", (name,)).fetchone()
        return row is not None and row[0] == owner

    def renew(self, name: str, owner: str, ttl: float) -> bool:
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE leases SET expires=? WHERE name=? AND owner=?",
                (time.time() + ttl, name, owner),
            )
        return cur.rowcount > 0

    def release(self, name: str, owner: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM leases WHERE name=? AND owner=?", (name, owner))

    def holder(self, name: str) -> str | None:
        row = (
            self._db.conn()
            .execute("SELECT owner FROM leases WHERE name=? AND expires>=?", (name, time.time()))
            .fetchone()
        )
        return None if row is None else row[0]
