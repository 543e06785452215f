"""Messages: durable delivery with group commit, listing, reading, flags, deletion."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Iterable, Iterator

from ..bind import Binding
from ..contract.blobs import Blobs
from ..delivery import Delivery, PublishedFile
from ..errors import MessageDamaged, NotFound, QuotaExceeded, StorageFull
from ..events import MailboxEvents
from ..faults import fault_point
from ..group_commit import GroupCommitter
from ..mailbox_key import MailboxKey
from ..message_file import open_plaintext
from ..models import ListedMessage, MessageInfo
from . import rows
from .database import Database
from .epochs import current_epoch
from .reservations import ReservationLost, SqliteReservations


def index_message(
    conn: sqlite3.Connection,
    message_id: str,
    mailbox_id: str,
    *,
    epoch: int,
    size: int,
    stored_size: int,
    received: float,
    encoding: str,
    path: str,
    sha256: str,
) -> int:
    """Index a message file inside the caller's write transaction: the mailbox's next
    UID, a row without flags, the mailbox's counters. Returns the UID; NotFound when
    the mailbox is gone (deleted while the file was being written)."""
    row = conn.execute("SELECT next_uid FROM mailboxes WHERE id=?", (mailbox_id,)).fetchone()
    if row is None:
        raise NotFound("mailbox {mailbox} was deleted during delivery", mailbox=mailbox_id)
    uid = row[0]
    conn.execute(
        "INSERT INTO messages(id, mailbox_id, uid, epoch, size, stored_size, received, flags,"
        " encoding, path, sha256) VALUES (?,?,?,?,?,?,?,'',?,?,?)",
        (message_id, mailbox_id, uid, epoch, size, stored_size, received, encoding, path, sha256),
    )
    conn.execute(
        "UPDATE mailboxes SET next_uid=next_uid+1, message_count=message_count+1,"
        " stored_bytes=stored_bytes+? WHERE id=?",
        (stored_size, mailbox_id),
    )
    return uid


class SqliteMessages:
    def __init__(
        self,
        db: Database,
        blobs: Blobs,
        events: MailboxEvents,
        *,
        compress: bool,
        disk_reserve: int,
        reservations: SqliteReservations | None = None,
    ) -> None:
        self._db = db
        # Blobs shared by several nodes: each delivery reserves its id first (reservations.py)
        self._reservations = reservations
        self._blobs = blobs
        self._events = events
        self._compress = compress
        self.disk_reserve = disk_reserve
        self._committer = GroupCommitter(self._commit_batch)

    # --- accepting mail ------------------------------------------------------------
    def check_can_receive(self, mailbox_id: str, size_hint: int = 0) -> None:
        """Raise QuotaExceeded or StorageFull when a new message should be refused (4xx)."""
        if self._blobs.free_bytes() - size_hint < self.disk_reserve:
            raise StorageFull("free disk space is under the reserve")
        row = self._db.one_row(
            "SELECT quota, stored_bytes FROM mailboxes WHERE id=?",
            (mailbox_id,),
            f"no mailbox {mailbox_id}",
        )
        if row["quota"] and row["stored_bytes"] + size_hint > row["quota"]:
            raise QuotaExceeded("mailbox {mailbox} is over its quota", mailbox=mailbox_id)

    def begin_delivery(self, mailbox_id: str) -> Delivery:
        epoch = current_epoch(self._db, mailbox_id)
        return Delivery(
            self._blobs,
            mailbox_id,
            epoch.epoch,
            epoch.recipient,
            self._compress,
            reserver=self._reservations,
        )

    def commit_deliveries(self, deliveries: list[Delivery]) -> list[MessageInfo]:
        """Make copies durable and visible together (one SMTP transaction's copies).

        Blobs are finished and published here; their durability is completed (files:
        directories fsynced) and the index rows committed by the group committer, shared
        with concurrent callers.
        On any failure every copy is removed and the error raised: nothing half-stored.
        """
        try:
            published = [d.publish() for d in deliveries]
            infos = self._committer.submit(published)
            fault_point("commit.after")
        except BaseException:
            for delivery in deliveries:
                delivery.abort()
            raise
        for mailbox_id in {p.mailbox_id for p in published}:
            self._events.publish(mailbox_id, "exists")
        return infos

    def _commit_batch(self, groups: list[list[PublishedFile]]) -> list[object]:
        self._blobs.make_durable({p.directory for group in groups for p in group})
        outcomes: list[object] = []
        with self._db.write() as conn:
            for index, group in enumerate(groups):
                conn.execute(f"SAVEPOINT g{index}")
                try:
                    outcomes.append([self.index_published(conn, p) for p in group])
                except (sqlite3.Error, NotFound, ReservationLost) as exc:
                    conn.execute(f"ROLLBACK TO g{index}")
                    outcomes.append(exc)
                conn.execute(f"RELEASE g{index}")
            fault_point("commit.before")
        return outcomes

    def index_published(self, conn: sqlite3.Connection, p: PublishedFile) -> MessageInfo:
        """Index a published copy in the caller's write transaction, settling its
        reservation there (ReservationLost if reconciliation claimed it)."""
        if self._reservations is not None:
            self._reservations.settle(conn, p.message_id)
        return self._insert_message(conn, p)

    @staticmethod
    def _insert_message(conn: sqlite3.Connection, p: PublishedFile) -> MessageInfo:
        uid = index_message(
            conn,
            p.message_id,
            p.mailbox_id,
            epoch=p.epoch,
            size=p.size,
            stored_size=p.stored_size,
            received=p.received,
            encoding=p.encoding,
            path=p.path,
            sha256=p.sha256,
        )
        return SqliteMessages._committed_info(p, uid)

    @staticmethod
    def _committed_info(p: PublishedFile, uid: int) -> MessageInfo:
        """What a delivery's committed row holds (no flags yet)."""
        return MessageInfo(
            p.message_id,
            p.mailbox_id,
            uid,
            p.epoch,
            p.size,
            p.stored_size,
            p.received,
            frozenset(),
            p.encoding,
            p.path,
            p.sha256,
        )

    # --- reading -------------------------------------------------------------------
    def list(self, mailbox_id: str) -> list[MessageInfo]:
        cur = self._db.conn().execute(
            "SELECT id, mailbox_id, uid, epoch, size, stored_size, received, flags, encoding,"
            " path, sha256 FROM messages WHERE mailbox_id=? ORDER BY uid",
            (mailbox_id,),
        )
        return [rows.listed_message(r) for r in cur]

    def listing(self, mailbox_id: str) -> builtins.list[ListedMessage]:
        cur = self._db.conn().execute(
            "SELECT id, uid, epoch, size, flags FROM messages WHERE mailbox_id=? ORDER BY uid",
            (mailbox_id,),
        )
        return [ListedMessage(i, u, e, s, rows.flag_set(f)) for i, u, e, s, f in cur]

    def from_uid(self, mailbox_id: str, uid: int, limit: int) -> builtins.list[MessageInfo]:
        cur = self._db.conn().execute(
            "SELECT id, mailbox_id, uid, epoch, size, stored_size, received, flags, encoding,"
            " path, sha256 FROM messages WHERE mailbox_id=? AND uid>=? ORDER BY uid LIMIT ?",
            (mailbox_id, uid, limit),
        )
        return [rows.listed_message(r) for r in cur]

    def next_uid(self, mailbox_id: str) -> int:
        """The UID the next delivered message will get (IMAP UIDNEXT); never decreases."""
        row = self._db.one_row(
            "SELECT next_uid FROM mailboxes WHERE id=?", (mailbox_id,), f"no mailbox {mailbox_id}"
        )
        return row[0]

    def get(self, mailbox_id: str, message_id: str) -> MessageInfo:
        row = self._db.one_row(
            "SELECT * FROM messages WHERE mailbox_id=? AND id=?",
            (mailbox_id, message_id),
            f"no message {message_id} in {mailbox_id}",
        )
        return rows.message(row)

    def read(self, key: MailboxKey, message: MessageInfo) -> Iterator[bytes]:
        """Authenticated plaintext in chunks of at most 64 KiB; MessageDamaged on any fault.

        A consumer that streams must drop its connection when MessageDamaged arrives
        after some chunks were sent.
        """
        if message.mailbox_id != key.mailbox_id:
            raise MessageDamaged("message does not belong to the unlocked mailbox")
        identity = key.identities.get(message.epoch)
        if identity is None:
            raise MessageDamaged(
                "message {message} is sealed under an earlier passphrase", message=message.id
            )
        binding = Binding(message.mailbox_id, message.id, message.epoch, message.encoding)
        try:
            fh = self._blobs.open(message.path)
        except FileNotFoundError:
            raise MessageDamaged(
                "message {message}: its file is missing", message=message.id
            ) from None
        with fh:
            yield from open_plaintext(fh, [identity], binding)

    def fill_unknown_sizes(self, key: MailboxKey) -> int:
        """Adopted orphans have no known plaintext size until a key opens them."""
        # asked after every login: only the (rare) unknown rows, not the whole listing
        cur = self._db.conn().execute(
            "SELECT id, mailbox_id, uid, epoch, size, stored_size, received, flags, encoding,"
            " path, sha256 FROM messages WHERE mailbox_id=? AND size<0",
            (key.mailbox_id,),
        )
        unknown = [rows.listed_message(r) for r in cur]
        fixed = 0
        for message in unknown:
            try:
                size = sum(len(c) for c in self.read(key, message))
            except MessageDamaged:
                continue
            with self._db.write() as conn:
                conn.execute("UPDATE messages SET size=? WHERE id=?", (size, message.id))
            fixed += 1
        return fixed

    # --- flags and deletion ----------------------------------------------------------
    def set_flags(
        self, mailbox_id: str, message_ids: Iterable[str], flags: Iterable[str], mode: str = "add"
    ) -> builtins.list[MessageInfo]:
        """mode: "add", "remove" or "replace". Returns the updated messages."""
        wanted = frozenset(flags)
        ids = list(message_ids)
        changed: builtins.list[MessageInfo] = []
        with self._db.write() as conn:
            for message_id in ids:
                row = conn.execute(
                    "SELECT * FROM messages WHERE mailbox_id=? AND id=?", (mailbox_id, message_id)
                ).fetchone()
                if row is None:
                    continue
                current = rows.message(row).flags
                new = {"add": current | wanted, "remove": current - wanted, "replace": wanted}[mode]
                conn.execute(
                    "UPDATE messages SET flags=? WHERE id=?", (rows.flags_text(new), message_id)
                )
                changed.append(
                    rows.message(
                        conn.execute("SELECT * FROM messages WHERE id=?", (message_id,)).fetchone()
                    )
                )
        self._events.publish(mailbox_id, "flags")
        return changed

    def delete(self, mailbox_id: str, message_ids: Iterable[str]) -> int:
        """Remove index rows first (one transaction), then the files."""
        ids = list(message_ids)
        paths: builtins.list[str] = []
        with self._db.write() as conn:
            for message_id in ids:
                row = conn.execute(
                    "SELECT path, stored_size FROM messages WHERE mailbox_id=? AND id=?",
                    (mailbox_id, message_id),
                ).fetchone()
                if row is None:
                    continue
                conn.execute("DELETE FROM messages WHERE id=?", (message_id,))
                conn.execute(
                    "UPDATE mailboxes SET message_count=message_count-1,"
                    " stored_bytes=stored_bytes-? WHERE id=?",
                    (row["stored_size"], mailbox_id),
                )
                paths.append(row["path"])
        if paths:
            self._db.after_commit(lambda: self._forget_files(mailbox_id, paths))
        return len(paths)

    def _forget_files(self, mailbox_id: str, paths: builtins.list[str]) -> None:
        """Once the rows are gone for good (DESIGN §3: the row, then the file)."""
        for path in paths:
            self._blobs.remove(path)
        self._events.publish(mailbox_id, "expunge")

    def change_seq(self, mailbox_id: str) -> int:
        """Bumped by the index's triggers in each change's own transaction (schema.py)."""
        row = self._db.one_row(
            "SELECT c.seq FROM mailboxes m LEFT JOIN mailbox_changes c ON c.mailbox_id=m.id"
            " WHERE m.id=?",
            (mailbox_id,),
            f"no mailbox {mailbox_id}",
        )
        return row[0] or 0

    def received_since(self, mailbox_id: str, since: float) -> int:
        row = (
            self._db.conn()
            .execute(
                "SELECT count(*) FROM messages WHERE mailbox_id=? AND received>=?",
                (mailbox_id, since),
            )
            .fetchone()
        )
        return row[0]
