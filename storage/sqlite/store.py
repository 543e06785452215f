"""SqliteStore: the embedded implementation of the store (SQLite index + age files)."""

from __future__ import annotations

import os
from pathlib import Path

from ..blobs import BlobStore
from ..errors import NotADataDirectory
from ..events import MailboxEvents
from ..group_commit import GroupCommitter
from ..keys import RECIPIENT_TYPES, KdfParams
from .admins import AdminsMixin
from .database import Database
from .directory import DirectoryMixin
from .keyring import KeyringMixin
from .messages import MessagesMixin
from .reconcile import ReconcileMixin
from .sessions import SessionsMixin

MARKER = ".journal-gateway"
_OWN_ENTRIES = {
    MARKER,
    "gateway.db",
    "gateway.db-wal",
    "gateway.db-shm",
    "blobs",
    "tmp",
    "quarantine",
    "tls",
    "secrets",
}


class SqliteStore(
    DirectoryMixin, KeyringMixin, MessagesMixin, AdminsMixin, ReconcileMixin, SessionsMixin
):
    """One data directory: gateway.db, blobs/, tmp/, quarantine/ (DESIGN §3)."""

    def __init__(
        self,
        data_dir: str | os.PathLike,
        *,
        recipient_type: str = "mlkem768x25519",
        kdf: KdfParams | None = None,
        compress: bool = True,
        disk_reserve: int = 256 << 20,
    ) -> None:
        if recipient_type not in RECIPIENT_TYPES:
            raise ValueError(f"recipient type must be one of {RECIPIENT_TYPES}")
        self.data_dir = Path(data_dir)
        self._claim_directory()
        self.db = Database(self.data_dir / "gateway.db")
        self._mark_directory()
        self.blobs = BlobStore(self.data_dir)
        self.kdf = kdf or KdfParams()
        self.recipient_type = recipient_type
        self.compress = compress
        self.disk_reserve = disk_reserve
        self.events = MailboxEvents()
        self._committer = GroupCommitter(self._commit_batch)

    def _claim_directory(self) -> None:
        """Refuse a directory that holds someone else's files; create a missing one."""
        marker = self.data_dir / MARKER
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise NotADataDirectory("{path} is not a directory", path=self.data_dir)
        if self.data_dir.is_dir() and not marker.exists():
            foreign = [p.name for p in self.data_dir.iterdir() if p.name not in _OWN_ENTRIES]
            if foreign:
                raise NotADataDirectory(
                    "{path} is not a Journal Gateway data directory (it holds {files})",
                    path=self.data_dir,
                    files=", ".join(sorted(foreign)[:3]),
                )
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def _mark_directory(self) -> None:
        """Mark the directory as ours, once its index was accepted (never a refused one)."""
        marker = self.data_dir / MARKER
        if not marker.exists():
            marker.write_text("Journal Gateway data directory. Do not edit files here.\n")

    def check_writable(self) -> None:
        """Raise unless a write transaction commits and a file can be created in tmp/."""
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('ready_check', '1')")
        probe = self.blobs.tmp / ".ready-probe"
        probe.write_bytes(b"ok")
        probe.unlink()

    def free_bytes(self) -> int:
        """Free bytes where messages are stored (for the disk reserve and metrics)."""
        return self.blobs.free_bytes()

    def close(self) -> None:
        self.db.close()
