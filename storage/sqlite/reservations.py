"""Delivery reservations: a message id claimed in the index before its blob exists.

With blobs shared by several nodes (S3), a node's reconciliation sees other nodes'
deliveries as objects without a row. The rule (issue 13): a delivery first inserts a
row reserving its message id (the blob's key derives from that id); the commit
transaction removes it as it inserts the message row, an abort removes it too. Then

- reconciliation leaves an object whose reservation is live alone, whatever its age;
- an expired reservation is *claimed* (its row deleted) before its object is adopted or
  quarantined, so a late commit finds its reservation gone and fails (SMTP 451: the
  sender retries) instead of indexing an object that reconciliation moved;
- an abort that finds its reservation claimed leaves the object to reconciliation.

If-None-Match on the object (storage/s3/objects.py) stays the second guard. Times are
the index's clock (PostgreSQL's server clock on that index: one clock for every node).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..errors import StoreError
from .database import Database

# The index's clock in seconds since the epoch (SQLite; PostgresReservations overrides).
SQLITE_NOW = "((julianday('now') - 2440587.5) * 86400.0)"


class ReservationLost(StoreError):
    """A delivery's reservation expired and reconciliation claimed its blob."""


class Reservation(enum.Enum):
    NONE = "none"  # no reservation: the blob's fate is decided by its age
    LIVE = "live"  # a delivery in progress on some node: leave the blob alone
    CLAIMED = "claimed"  # expired, and now ours: the blob is an orphan


@dataclass(frozen=True)
class _Statements:
    reserve: str
    claim_expired: str
    live: str
    purge_expired: str

    @classmethod
    def with_clock(cls, now: str) -> _Statements:
        return cls(
            reserve=(
                "INSERT INTO delivery_reservations(message_id, mailbox_id, started, expires)"  # noqa: S608
                f" VALUES (?, ?, {now}, {now} + ?)"
            ),
            claim_expired=(
                f"DELETE FROM delivery_reservations WHERE message_id=? AND expires<={now}"  # noqa: S608
            ),
            live=(
                f"SELECT 1 FROM delivery_reservations WHERE message_id=? AND expires>{now}"  # noqa: S608
            ),
            # Expired for as long again as it was live: a late commit had its chance.
            purge_expired=(
                f"DELETE FROM delivery_reservations WHERE 2*expires-started<={now}"  # noqa: S608
            ),
        )


def blob_message_id(relpath: str) -> str:
    """The message id a blob's key derives from (blobs/<mailbox>/<yyyy>/<mm>/<id>.age)."""
    return PurePosixPath(relpath).stem


class SqliteReservations:
    """Reservations on the index of `db`, each live for `ttl` seconds (the blob store's
    orphan grace: longer than the longest SMTP transaction)."""

    NOW = SQLITE_NOW

    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self.ttl = ttl
        self._sql = _Statements.with_clock(self.NOW)

    def reserve(self, message_id: str, mailbox_id: str) -> None:
        """Claim `message_id` before its blob is begun (AlreadyExists-like error if taken)."""
        with self._db.write() as conn:
            conn.execute(self._sql.reserve, (message_id, mailbox_id, self.ttl))

    def release(self, message_id: str) -> bool:
        """Drop our reservation on abort; False if reconciliation claimed it meanwhile
        (then the blob is no longer ours to remove)."""
        with self._db.write() as conn:
            cur = conn.execute(
                "DELETE FROM delivery_reservations WHERE message_id=?", (message_id,)
            )
        return cur.rowcount > 0

    @staticmethod
    def settle(conn: object, message_id: str) -> None:
        """In the commit transaction: remove the reservation; ReservationLost if gone."""
        cur = conn.execute(  # type: ignore[attr-defined]
            "DELETE FROM delivery_reservations WHERE message_id=?", (message_id,)
        )
        if cur.rowcount == 0:
            raise ReservationLost(
                "the delivery took longer than its reservation; it was not stored"
            )

    def state(self, relpath: str) -> Reservation:
        """LIVE, NONE, or CLAIMED (an expired reservation, deleted now, in one write)."""
        message_id = blob_message_id(relpath)
        with self._db.write() as conn:
            if conn.execute(self._sql.claim_expired, (message_id,)).rowcount:
                return Reservation.CLAIMED
            row = conn.execute(
                "SELECT 1 FROM delivery_reservations WHERE message_id=?", (message_id,)
            ).fetchone()
        return Reservation.NONE if row is None else Reservation.LIVE

    def is_live(self, relpath: str) -> bool:
        """A live reservation holds the blob's id: a delivery in progress (read only)."""
        row = self._db.conn().execute(self._sql.live, (blob_message_id(relpath),)).fetchone()
        return row is not None

    def purge_expired(self) -> int:
        """Remove reservations long expired (as long again as they were live) whose
        delivery never wrote a blob (a crashed node): no commit is coming for them."""
        with self._db.write() as conn:
            return conn.execute(self._sql.purge_expired).rowcount
