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
from .messages import index_message


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
            index_message(
                conn,
                message_id,
                binding.mailbox_id,
                epoch=binding.epoch,
                size=-1,  # unknown until a key opens it (fill_unknown_sizes)
                stored_size=stat.st_size,
                received=stat.st_mtime,
                encoding=binding.encoding,
                path=relpath,
                sha256=digest,
            )
        return True
