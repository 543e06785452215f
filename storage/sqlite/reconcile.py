"""Start-up reconciliation: temp files removed, orphan files adopted or quarantined."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..bind import BindError
from ..ids import is_message_id
from ..message_file import read_file_binding
from .base import StoreBase


@dataclass
class ReconcileReport:
    temp_removed: int = 0
    adopted: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)


class ReconcileMixin(StoreBase):
    def reconcile(self) -> ReconcileReport:
        """Files without an index row were renamed into place but never committed (a crash
        between rename and commit). A valid one is adopted — its sender got no 250 and may
        retry, so a duplicate is possible, a loss is not; an invalid one is quarantined."""
        report = ReconcileReport(temp_removed=self.blobs.clean_temp())
        conn = self.db.conn()
        known = {r[0] for r in conn.execute("SELECT path FROM messages")}
        for relpath in self.blobs.iter_files():
            if relpath in known:
                continue
            if self._adopt(relpath):
                report.adopted.append(relpath)
            else:
                report.quarantined.append(self.blobs.quarantine(relpath))
        for relpath in known:
            if not self.blobs.path(relpath).exists():
                report.missing_files.append(relpath)
        return report

    def _adopt(self, relpath: str) -> bool:
        path = PurePosixPath(relpath)
        message_id = path.stem
        if not is_message_id(message_id) or len(path.parts) != 5:
            return False
        try:
            with self.blobs.open(relpath) as fh:
                binding = read_file_binding(fh)
        except (BindError, OSError):
            return False
        if binding.message_id != message_id or binding.mailbox_id != path.parts[1]:
            return False
        conn = self.db.conn()
        if not conn.execute(
            "SELECT 1 FROM epochs WHERE mailbox_id=? AND epoch=?",
            (binding.mailbox_id, binding.epoch),
        ).fetchone():
            return False
        if conn.execute("SELECT 1 FROM messages WHERE id=?", (message_id,)).fetchone():
            return False
        stat = os.stat(self.blobs.path(relpath))
        with open(self.blobs.path(relpath), "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        with self.db.write() as conn:
            uid = conn.execute(
                "SELECT next_uid FROM mailboxes WHERE id=?", (binding.mailbox_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO messages(id, mailbox_id, uid, epoch, size, stored_size, received,"
                " flags, encoding, path, sha256) VALUES (?,?,?,?,-1,?,?,'',?,?,?)",
                (
                    message_id,
                    binding.mailbox_id,
                    uid,
                    binding.epoch,
                    stat.st_size,
                    stat.st_mtime,
                    binding.encoding,
                    relpath,
                    digest,
                ),
            )
            conn.execute(
                "UPDATE mailboxes SET next_uid=next_uid+1, message_count=message_count+1,"
                " stored_bytes=stored_bytes+? WHERE id=?",
                (stat.st_size, binding.mailbox_id),
            )
        return True
