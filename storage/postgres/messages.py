"""Messages on the PostgreSQL index: deliveries from every node commit side by side.

The durability rule is the SQLite one (storage/sqlite/messages.py): the file is durable
before its row commits, and the row is what makes it visible. What differs is the
commit: the mailbox row is updated first (`UPDATE ... RETURNING`), which locks it until
the transaction ends, so two nodes delivering to one mailbox take UIDs and quota one
after the other, and a delivery commits only while the mailbox is under its quota (the
same line check_can_receive draws), whichever node it arrives at.
"""

from __future__ import annotations

from ..delivery import PublishedFile
from ..errors import NotFound, QuotaExceeded, StoreError
from ..faults import fault_point
from ..models import MessageInfo
from ..sqlite.messages import SqliteMessages
from .database import PgConnection, PostgresDatabase

# The mailbox row, updated first: locked until commit, so UIDs and quota go in turn.
_TAKE_UID = (
    "UPDATE mailboxes SET next_uid=next_uid+1, message_count=message_count+1,"
    " stored_bytes=stored_bytes+? WHERE id=? RETURNING next_uid-1"
)
_TAKE_UID_UNDER_QUOTA = (
    "UPDATE mailboxes SET next_uid=next_uid+1, message_count=message_count+1,"
    " stored_bytes=stored_bytes+? WHERE id=? AND (quota=0 OR stored_bytes<quota)"
    " RETURNING next_uid-1"
)


def index_message(conn: PgConnection, p: PublishedFile, *, quota: bool = True) -> int:
    """Index a durable message file inside the caller's transaction; returns its UID.

    NotFound when the mailbox is gone; QuotaExceeded (with `quota`) when it is full.
    """
    row = conn.execute(
        _TAKE_UID_UNDER_QUOTA if quota else _TAKE_UID, (p.stored_size, p.mailbox_id)
    ).fetchone()
    if row is None:
        if conn.execute("SELECT 1 FROM mailboxes WHERE id=?", (p.mailbox_id,)).fetchone():
            raise QuotaExceeded("mailbox {mailbox} is over its quota", mailbox=p.mailbox_id)
        raise NotFound("mailbox {mailbox} was deleted during delivery", mailbox=p.mailbox_id)
    uid = row[0]
    conn.execute(
        "INSERT INTO messages(id, mailbox_id, uid, epoch, size, stored_size, received, flags,"
        " encoding, path, sha256) VALUES (?,?,?,?,?,?,?,'',?,?,?)",
        (
            p.message_id,
            p.mailbox_id,
            uid,
            p.epoch,
            p.size,
            p.stored_size,
            p.received,
            p.encoding,
            p.path,
            p.sha256,
        ),
    )
    return uid


class PostgresMessages(SqliteMessages):
    """Delivery, listing, reading, flags, deletion (storage/contract/messages.py)."""

    _db: PostgresDatabase  # type: ignore[assignment]

    def _commit_batch(self, groups: list[list[PublishedFile]]) -> list[object]:
        self._blobs.make_durable({p.directory for group in groups for p in group})
        outcomes: list[object] = []
        mailbox_ids = sorted({p.mailbox_id for group in groups for p in group})
        with self._db.delivery() as conn:
            # Every mailbox row of the batch locked at once, in id order: two nodes whose
            # batches share mailboxes then wait for each other instead of deadlocking.
            marks = ",".join("?" * len(mailbox_ids))
            conn.execute(
                f"SELECT id FROM mailboxes WHERE id IN ({marks}) ORDER BY id FOR UPDATE",  # noqa: S608
                mailbox_ids,
            )
            for index, group in enumerate(groups):
                conn.execute(f"SAVEPOINT g{index}")
                try:
                    outcomes.append([self.index_published(conn, p) for p in group])  # type: ignore[arg-type]
                except (NotFound, QuotaExceeded, StoreError) as exc:
                    if not conn.in_transaction or conn.broken:
                        raise  # the connection failed: the whole batch fails
                    conn.execute(f"ROLLBACK TO g{index}")
                    outcomes.append(exc)
                conn.execute(f"RELEASE g{index}")
            fault_point("commit.before")
        return outcomes

    @staticmethod
    def _insert_message(conn: PgConnection, p: PublishedFile) -> MessageInfo:  # type: ignore[override]
        """The row under the mailbox row's lock, with exact quota (index_message)."""
        return SqliteMessages._committed_info(p, index_message(conn, p))
