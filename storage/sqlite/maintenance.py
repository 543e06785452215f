"""The Maintenance area: reconciliation, readiness, and the hooks of backup, fsck and
retention. Every SQL statement those need is here, not in storage/maintenance/."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..bind import BindError, Binding
from ..contract.blobs import Blobs, BlobStat
from ..contract.maintenance import (
    CounterFix,
    ReconcileReport,
    RetentionCandidate,
    StoredMessage,
)
from ..file_modes import LooseMode, find_loose_modes, tighten
from ..ids import is_message_id
from ..message_file import read_file_binding
from .database import Database
from .messages import index_message
from .reservations import Reservation, SqliteReservations
from .snapshot import SqliteIndexSnapshot

ROW_BATCH = 1000

_COUNTS = (
    "SELECT m.id, m.message_count, m.stored_bytes, m.next_uid,"
    " count(g.id) AS n, coalesce(sum(g.stored_size), 0) AS bytes, coalesce(max(g.uid), 0) AS uid"
    " FROM mailboxes m LEFT JOIN messages g ON g.mailbox_id = m.id GROUP BY m.id ORDER BY m.id"
)


class SqliteMaintenance:
    def __init__(
        self,
        db: Database,
        blobs: Blobs,
        data_dir: Path,
        reservations: SqliteReservations | None = None,
    ) -> None:
        self._db = db
        self._blobs = blobs
        self.data_dir = data_dir
        self._reservations = reservations

    @property
    def orphan_grace(self) -> float:
        return self._blobs.orphan_grace

    # --- start-up and readiness ---------------------------------------------------------
    def reconcile(self) -> ReconcileReport:
        """Temp blobs, orphans and missing blobs (contract). A blob whose delivery
        reservation is live is some node's delivery in progress: left alone. A blob of
        an expired reservation is claimed, then adopted or quarantined. Without a
        reservation, a blob younger than the blob store's orphan_grace may be a delivery
        on another node about to commit, so it is left alone too. A row counts as
        missing its blob only if it still exists after the listing (a deletion removes
        the row, then the blob)."""
        report = ReconcileReport(temp_removed=self._blobs.clean_temp())
        known = {r[0] for r in self._db.conn().execute("SELECT path FROM messages")}
        present = set()
        settled_before = time.time() - self._blobs.orphan_grace
        for relpath in self._blobs.iter_files():
            present.add(relpath)
            if relpath in known or not self._orphan_now(relpath, settled_before):
                continue
            if self.adopt_orphan(relpath):
                report.adopted.append(relpath)
            elif not self.path_is_indexed(relpath):
                report.quarantined.append(self._blobs.quarantine(relpath))
        if self._reservations is not None:
            self._reservations.purge_expired()  # deliveries that never wrote a blob
        for relpath in sorted(known - present):
            if self.path_is_indexed(relpath) and not self._exists(relpath):
                report.missing_files.append(relpath)
        return report

    def _orphan_now(self, relpath: str, settled_before: float) -> bool:
        """May reconciliation adopt or quarantine this blob without a row now?"""
        if self._reservations is None:
            return self._settled(relpath, settled_before)
        state = self._reservations.state(relpath)
        if state is Reservation.LIVE:
            return False
        if self.path_is_indexed(relpath):
            return False  # committed since the listing began
        return state is Reservation.CLAIMED or self._settled(relpath, settled_before)

    def is_reserved(self, relpath: str) -> bool:
        return self._reservations is not None and self._reservations.is_live(relpath)

    def claim_orphan(self, relpath: str) -> bool:
        if self._reservations is None:
            return True
        return self._reservations.state(relpath) is not Reservation.LIVE

    def _settled(self, relpath: str, settled_before: float) -> bool:
        if not self._blobs.orphan_grace:
            return True
        try:
            return self._blobs.stat(relpath).mtime <= settled_before
        except FileNotFoundError:
            return False

    def _exists(self, relpath: str) -> bool:
        try:
            self._blobs.stat(relpath)
        except FileNotFoundError:
            return False
        return True

    def _adoptable(self, relpath: str) -> Binding | None:
        """The bind stanza of a blob without a row, if it may be adopted: its name is
        its message id in its mailbox's directory, and its mailbox has its epoch."""
        path = PurePosixPath(relpath)
        message_id = path.stem
        if not is_message_id(message_id) or len(path.parts) != 5:
            return None
        try:
            with self._blobs.open(relpath) as fh:
                binding = read_file_binding(fh)
        except (BindError, OSError):
            return None
        if binding.message_id != message_id or binding.mailbox_id != path.parts[1]:
            return None
        conn = self._db.conn()
        if not conn.execute(
            "SELECT 1 FROM epochs WHERE mailbox_id=? AND epoch=?",
            (binding.mailbox_id, binding.epoch),
        ).fetchone():
            return None
        if self.is_indexed(message_id):
            return None
        return binding

    def _digest_and_stat(self, relpath: str) -> tuple[str, BlobStat] | None:
        """The blob's SHA-256 and stat, or None if it cannot be read (gone meanwhile)."""
        try:
            stat = self._blobs.stat(relpath)
            with self._blobs.open(relpath) as fh:
                hasher = hashlib.sha256()
                while chunk := fh.read(1 << 20):
                    hasher.update(chunk)
        except OSError:
            return None
        return hasher.hexdigest(), stat

    def adopt_orphan(self, relpath: str) -> bool:
        binding = self._adoptable(relpath)
        if binding is None:
            return False
        found = self._digest_and_stat(relpath)
        if found is None:
            return False
        digest, stat = found
        message_id = binding.message_id
        with self._db.write() as wconn:
            index_message(
                wconn,
                message_id,
                binding.mailbox_id,
                epoch=binding.epoch,
                size=-1,  # unknown until a key opens it (fill_unknown_sizes)
                stored_size=stat.size,
                received=stat.mtime,
                encoding=binding.encoding,
                path=relpath,
                sha256=digest,
            )
        return True

    def check_writable(self) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('ready_check', '1')"
                " ON CONFLICT (key) DO UPDATE SET value=excluded.value"
            )
        self._blobs.check_writable()

    def free_bytes(self) -> int:
        return self._blobs.free_bytes()

    def loose_file_modes(self) -> list[LooseMode]:
        return find_loose_modes(self.data_dir)

    def tighten_modes(self, loose: list[LooseMode]) -> list[LooseMode]:
        return tighten(self.data_dir, loose)

    # --- message rows and files (fsck, backup) ------------------------------------------
    def stored_messages(self) -> Iterator[StoredMessage]:
        last = ""
        conn = self._db.conn()
        while True:
            batch = conn.execute(
                "SELECT id, mailbox_id, epoch, encoding, path, sha256 FROM messages"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (last, ROW_BATCH),
            ).fetchall()
            if not batch:
                return
            for row in batch:
                yield StoredMessage(*row)
            last = batch[-1]["id"]

    def is_indexed(self, message_id: str) -> bool:
        conn = self._db.conn()
        return (
            conn.execute("SELECT 1 FROM messages WHERE id=?", (message_id,)).fetchone() is not None
        )

    def path_is_indexed(self, relpath: str) -> bool:
        conn = self._db.conn()
        return (
            conn.execute("SELECT 1 FROM messages WHERE path=?", (relpath,)).fetchone() is not None
        )

    def stored_files(self) -> Iterator[str]:
        return self._blobs.iter_files()

    def open_stored_file(self, relpath: str) -> BinaryIO:
        return self._blobs.open(relpath)

    def stored_file_mtime(self, relpath: str) -> float:
        return self._blobs.stat(relpath).mtime

    def quarantine(self, relpath: str) -> str:
        return self._blobs.quarantine(relpath)

    def stale_temp_files(self, older_than: float) -> list[str]:
        return self._blobs.stale_temps(older_than)

    def remove_stale_temp(self, relpath: str) -> None:
        self._blobs.remove_temp(relpath)

    # --- counters ------------------------------------------------------------------------
    def counter_drift(self) -> list[CounterFix]:
        return _counter_drift(self._db.conn())

    def repair_counters(self) -> list[CounterFix]:
        with self._db.write() as conn:
            drift = _counter_drift(conn)
            for mailbox_id in sorted({d.mailbox_id for d in drift}):
                conn.execute(
                    "UPDATE mailboxes SET"
                    " message_count=(SELECT count(*) FROM messages WHERE mailbox_id=?),"
                    " stored_bytes=(SELECT coalesce(sum(stored_size), 0) FROM messages"
                    " WHERE mailbox_id=?),"
                    " next_uid=CASE WHEN next_uid > (SELECT coalesce(max(uid), 0) FROM messages"
                    " WHERE mailbox_id=?) THEN next_uid ELSE 1 + (SELECT coalesce(max(uid), 0)"
                    " FROM messages WHERE mailbox_id=?) END WHERE id=?",
                    (mailbox_id, mailbox_id, mailbox_id, mailbox_id, mailbox_id),
                )
        return drift

    # --- backup --------------------------------------------------------------------------
    def snapshot_index(self, target: Path) -> SqliteIndexSnapshot:
        return SqliteIndexSnapshot.take(self._db.path, target)

    # --- retention -----------------------------------------------------------------------
    def seen_times(self, mailbox_id: str) -> dict[str, float]:
        cur = self._db.conn().execute(
            "SELECT s.message_id, s.seen_at FROM message_seen s"
            " JOIN messages m ON m.id = s.message_id WHERE m.mailbox_id=?",
            (mailbox_id,),
        )
        return {r[0]: r[1] for r in cur}

    def retention_candidates(self, mailbox_id: str) -> list[RetentionCandidate]:
        cur = self._db.conn().execute(
            "SELECT m.id, m.flags, m.received, s.seen_at FROM messages m"
            " LEFT JOIN message_seen s ON s.message_id = m.id WHERE m.mailbox_id=?"
            " ORDER BY m.uid",
            (mailbox_id,),
        )
        return [
            RetentionCandidate(message_id, "\\seen" in flags.lower().split(), received, seen_at)
            for message_id, flags, received, seen_at in cur.fetchall()
        ]

    def record_seen_times(self, message_ids: list[str], when: float) -> None:
        with self._db.write() as conn:
            conn.executemany(
                "INSERT INTO message_seen(message_id, seen_at) VALUES (?, ?)"
                " ON CONFLICT (message_id) DO NOTHING",
                [(message_id, when) for message_id in message_ids],
            )


def _counter_drift(conn: sqlite3.Connection) -> list[CounterFix]:
    drift = []
    for row in conn.execute(_COUNTS).fetchall():
        if row["message_count"] != row["n"]:
            drift.append(CounterFix(row["id"], "message_count", row["message_count"], row["n"]))
        if row["stored_bytes"] != row["bytes"]:
            drift.append(CounterFix(row["id"], "stored_bytes", row["stored_bytes"], row["bytes"]))
        if row["next_uid"] <= row["uid"]:
            drift.append(CounterFix(row["id"], "next_uid", row["next_uid"], row["uid"] + 1))
    return drift
