"""SqliteStore: the embedded implementation of the store (SQLite index + age files).

It only composes the areas (one class each, given the shared parts they use) and owns
the data directory; every area's SQL is in its own module here.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path

from argon2 import PasswordHasher

from ..blobs import FileBlobs
from ..contract.blobs import Blobs
from ..data_dir import claim_data_directory, mark_data_directory
from ..events import MailboxEvents
from ..keys import RECIPIENT_TYPES, KdfParams
from ..sealing import Sealer
from .admins import SqliteAdmins
from .audit import SqliteAuditLog
from .certificates import SqliteCertificates
from .database import Database
from .domains import SqliteDomains
from .epochs import EpochSealer
from .keyring import SqliteKeyring
from .leases import SqliteLeases
from .login_clients import SqliteLoginClients
from .mailboxes import SqliteMailboxes
from .maintenance import SqliteMaintenance
from .messages import SqliteMessages
from .relays import SqliteRelays
from .reservations import SqliteReservations
from .robots import SqliteRobots
from .sealed import SqliteSealing
from .sessions import SqliteApiTokens, SqliteSessions
from .sources import SqliteSources


class SqliteStore:
    """One data directory: gateway.db, blobs/, tmp/, quarantine/ (DESIGN §3).

    Everything it creates is private (directories 0700, files 0600). `sealer` seals
    TOTP secrets; without one, everything but reading and writing them works.
    `blobs`: where message files go (default: FileBlobs in the data directory; an
    S3Blobs puts them in an object store and keeps only the index in DATA).
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
        blobs: Blobs | None = None,
    ) -> None:
        if recipient_type not in RECIPIENT_TYPES:
            raise ValueError(f"recipient type must be one of {RECIPIENT_TYPES}")
        self.data_dir = Path(data_dir)
        claim_data_directory(self.data_dir)
        self.db = Database(self.data_dir / "gateway.db")
        mark_data_directory(self.data_dir)
        self.blobs: Blobs = blobs if blobs is not None else FileBlobs(self.data_dir)
        self.events = MailboxEvents()
        # Admin passwords; argon2-cffi's defaults (RFC 9106's low-memory choice) unless a
        # caller, such as the test suite, passes lighter parameters, as with `kdf`.
        self.password_hasher = password_hasher or PasswordHasher()
        self.kdf = kdf or KdfParams()
        self.recipient_type, self.compress = recipient_type, compress
        epochs = EpochSealer(self.kdf, recipient_type)
        self.domains = SqliteDomains(self.db)
        self.mailboxes = SqliteMailboxes(self.db, self.blobs, self.events, self.domains, epochs)
        # Blobs another store may list (an orphan grace, e.g. S3): deliveries reserve
        # their message ids in the index first; reconciliation always honours the
        # reservations it finds, whatever this store's own grace (reservations.py).
        grace = self.blobs.orphan_grace
        reservations = SqliteReservations(self.db, grace)
        self.messages = SqliteMessages(
            self.db,
            self.blobs,
            self.events,
            compress=compress,
            disk_reserve=disk_reserve,
            reservations=reservations if grace else None,
        )
        self.keys = SqliteKeyring(self.db, epochs, self.mailboxes, self.messages)
        self.sealing = SqliteSealing(self.db, sealer)
        self.relays = SqliteRelays(self.db, self.sealing)
        self.robots = SqliteRobots(self.db, self.sealing)
        self.admins = SqliteAdmins(self.db, self.password_hasher, self.sealing)
        self.sessions = SqliteSessions(self.db)
        self.tokens = SqliteApiTokens(self.db)
        self.audit = SqliteAuditLog(self.db)
        self.login_clients = SqliteLoginClients(self.db)
        self.leases = SqliteLeases(self.db)
        self.sources = SqliteSources(self.db, self.sealing, self.events, self.messages, self.blobs)
        self.certificates = SqliteCertificates(self.db, self.sealing)
        self.maintenance = SqliteMaintenance(self.db, self.blobs, self.data_dir, reservations)

    def atomic(self) -> AbstractContextManager[None]:
        """Make every write inside (on the calling thread) one transaction: nested
        writes join it, the outermost exit commits, an exception rolls it all back.
        Each admin action (storage/actions) runs its writes and its audit entry so."""
        return self.db.atomic()

    @property
    def disk_reserve(self) -> int:
        """Free bytes kept back: under it new mail is refused (4xx)."""
        return self.messages.disk_reserve

    @disk_reserve.setter
    def disk_reserve(self, value: int) -> None:
        self.messages.disk_reserve = value

    def close(self) -> None:
        self.db.close()
