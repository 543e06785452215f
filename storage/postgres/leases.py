"""Leases on the PostgreSQL index, timed by the database server's clock.

Nodes' clocks may differ; the server's is the one clock they all share, so a lease a
dead node held runs out at the same moment for every node. Writes take the index's
writer lock (storage/postgres/database.py): acquire is a compare-and-set across nodes.
"""

from __future__ import annotations

from .database import PostgresDatabase

# Every statement reads "now" as extract(epoch FROM clock_timestamp()): the server's clock.


class PostgresLeases:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def acquire(self, name: str, owner: str, ttl: float) -> bool:
        with self._db.write() as conn:
            row = conn.execute(
                "INSERT INTO leases(name, owner, expires)"
                " VALUES (?, ?, extract(epoch FROM clock_timestamp()) + ?)"
                " ON CONFLICT (name) DO UPDATE SET owner=excluded.owner,"
                " expires=excluded.expires WHERE leases.owner=excluded.owner"
                " OR leases.expires<extract(epoch FROM clock_timestamp()) RETURNING owner",
                (name, owner, ttl),
            ).fetchone()
        return row is not None and row[0] == owner

    def renew(self, name: str, owner: str, ttl: float) -> bool:
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE leases SET expires=extract(epoch FROM clock_timestamp()) + ?"
                " WHERE name=? AND owner=?",
                (ttl, name, owner),
            )
        return cur.rowcount > 0

    def release(self, name: str, owner: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM leases WHERE name=? AND owner=?", (name, owner))

    def holder(self, name: str) -> str | None:
        row = (
            self._db.conn()
            .execute(
                "SELECT owner FROM leases WHERE name=?"
                " AND expires>=extract(epoch FROM clock_timestamp())",
                (name,),
            )
            .fetchone()
        )
        return None if row is None else row[0]
