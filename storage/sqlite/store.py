"""SqliteStore: the embedded implementation of the store (SQLite index + age files)."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path

from argon2 import PasswordHasher

from ..blobs import BlobStore
from ..data_dir import claim_data_directory, mark_data_directory
from ..events import MailboxEvents
from ..file_modes import LooseMode, create_private_file, find_loose_modes
from ..group_commit import GroupCommitter
from ..keys import RECIPIENT_TYPES, KdfParams
from ..sealing import Sealer
from .admins import AdminsMixin
from .database import Database
from .directory import DirectoryMixin
from .keyring import KeyringMixin
from .login_clients import LoginClientsMixin
from .messages import MessagesMixin
from .reconcile import ReconcileMixin
from .sessions import SessionsMixin


class SqliteStore(
    DirectoryMixin,
    KeyringMixin,
    MessagesMixin,
    AdminsMixin,
    ReconcileMixin,
    SessionsMixin,
    LoginClientsMixin,
):
    """One data directory: gateway.db, blobs/, tmp/, quarantine/ (DESIGN §3).

    Everything it creates is private (directories 0700, files 0600). `sealer` seals
    TOTP secrets; without one, everything but reading and writing them works.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike,
        *,
        recipient_type: str = "mlkem768x25519",
        kdf: KdfParams | None = None,
        password_hasher: PasswordHasher | None = None,
        compress: bool = True,
        disk_reserve: int = 256 << 20,
        sealer: Sealer | None = None,
    ) -> None:
        if recipient_type not in RECIPIENT_TYPES:
            raise ValueError(f"recipient type must be one of {RECIPIENT_TYPES}")
        self.data_dir = Path(data_dir)
        claim_data_directory(self.data_dir)
        self.db = Database(self.data_dir / "gateway.db")
        mark_data_directory(self.data_dir)
        self.blobs = BlobStore(self.data_dir)
        self.kdf = kdf or KdfParams()
        # Admin passwords; argon2-cffi's defaults (RFC 9106's low-memory choice) unless a
        # caller, such as the test suite, passes lighter parameters, as with `kdf`.
        self.password_hasher = password_hasher or PasswordHasher()
        self.recipient_type = recipient_type
        self.compress = compress
        self.disk_reserve = disk_reserve
        self.events = MailboxEvents()
        self._committer = GroupCommitter(self._commit_batch)
        self._open_sealing(sealer)

    def atomic(self) -> AbstractContextManager[None]:
        """Make every write inside (on the calling thread) one transaction: nested
        writes join it, the outermost exit commits, an exception rolls it all back.
        Each admin action (storage/actions) runs its writes and its audit entry so."""
        return self.db.atomic()

    def check_writable(self) -> None:
        """Raise unless a write transaction commits and a file can be created in tmp/."""
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('ready_check', '1')")
        probe = self.blobs.tmp / ".ready-probe"
        with os.fdopen(create_private_file(probe, exclusive=False), "wb") as fh:
            fh.write(b"ok")
        probe.unlink()

    def loose_file_modes(self) -> list[LooseMode]:
        """Paths under DATA that group or others may use (see storage/file_modes.py)."""
        return find_loose_modes(self.data_dir)

    def free_bytes(self) -> int:
        """Free bytes where messages are stored (for the disk reserve and metrics)."""
        return self.blobs.free_bytes()

    def close(self) -> None:
        self.db.close()
