"""PostgresStore: the store with its index in PostgreSQL (storage/contract/store.py).

Message files stay age files, kept by the Blobs it is given: FileBlobs under DATA
(`storage.blobs = "files"`) or S3Blobs in an object store (`storage.blobs = "s3://..."`). Every node
opening the same database shares mailboxes, quotas, leases, sessions and the change
feed; DATA holds only what is node-local (temp files, TLS, the seal key file).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from ..contract.blobs import Blobs
from ..keys import RECIPIENT_TYPES, KdfParams
from ..sealing import Sealer
from ..sqlite.epochs import EpochSealer
from .areas import (
    PostgresAdmins,
    PostgresApiTokens,
    PostgresAuditLog,
    PostgresCertificates,
    PostgresDomains,
    PostgresKeyring,
    PostgresLoginClients,
    PostgresMailboxes,
    PostgresRelays,
    PostgresReservations,
    PostgresRobots,
    PostgresSessions,
    PostgresSources,
)
from .changes import NotifiedEvents
from .database import PostgresDatabase
from .leases import PostgresLeases
from .maintenance import PostgresMaintenance
from .messages import PostgresMessages
from .sealing import PostgresSealing


class PostgresStore:
    """The index at `dsn` (password from `password`, the environment or a passfile,
    never the DSN in a log), message files in `blobs`, node-local files in `data_dir`."""

    def __init__(
        self,
        dsn: str,
        blobs: Blobs,
        data_dir: str | os.PathLike,
        *,
        password: str | None = None,
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
        self.db = PostgresDatabase(dsn, password=password)
        self.blobs = blobs
        self.events = NotifiedEvents(self.db.connect, self.db.backend_pids)
        self.password_hasher = password_hasher or PasswordHasher()
        self.kdf = kdf or KdfParams()
        self.recipient_type, self.compress = recipient_type, compress
        epochs = EpochSealer(self.kdf, recipient_type)
        db: Any = self.db  # the areas shared with SQLite take it as their Database
        self.domains = PostgresDomains(db)
        self.mailboxes = PostgresMailboxes(db, blobs, self.events, self.domains, epochs)
        # Blobs shared by the nodes (an orphan grace): deliveries reserve their ids first;
        # reconciliation honours every node's reservations (storage/sqlite/reservations.py).
        grace = blobs.orphan_grace
        reservations = PostgresReservations(db, grace)
        self.messages = PostgresMessages(
            db,
            blobs,
            self.events,
            compress=compress,
            disk_reserve=disk_reserve,
            reservations=reservations if grace else None,
        )
        self.keys = PostgresKeyring(db, epochs, self.mailboxes, self.messages)
        self.sealing = PostgresSealing(db, sealer)
        self.relays = PostgresRelays(db, self.sealing)
        self.robots = PostgresRobots(db, self.sealing)
        self.admins = PostgresAdmins(db, self.password_hasher, self.sealing)
        self.sessions = PostgresSessions(db)
        self.tokens = PostgresApiTokens(db)
        self.audit = PostgresAuditLog(db)
        self.login_clients = PostgresLoginClients(db)
        self.leases = PostgresLeases(self.db)
        self.sources = PostgresSources(db, self.sealing, self.events, self.messages, blobs)
        self.certificates = PostgresCertificates(db, self.sealing)
        self.maintenance = PostgresMaintenance(db, blobs, self.data_dir, reservations)

    def atomic(self) -> AbstractContextManager[None]:
        """Every write inside (on the calling thread) one transaction, as in SQLite."""
        return self.db.atomic()

    @property
    def disk_reserve(self) -> int:
        return self.messages.disk_reserve

    @disk_reserve.setter
    def disk_reserve(self, value: int) -> None:
        self.messages.disk_reserve = value

    def close(self) -> None:
        self.events.close()
        self.db.close()
