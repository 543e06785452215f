"""Everything at rest: age files, key epochs, the index, durability, quotas.

`open_store()` returns the configured implementation; nothing above this package
depends on SQLite or the file layout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .contract import Store
from .errors import (
    AlreadyExists,
    ConfirmationNeeded,
    DomainInUse,
    Forbidden,
    InvalidInput,
    MessageDamaged,
    NotADataDirectory,
    NotDeletable,
    NotEmpty,
    NotFound,
    OutOfScope,
    QuotaExceeded,
    SealError,
    StorageFull,
    StoreError,
    WrongPassphrase,
    WrongPassword,
)
from .keys import KdfParams
from .mailbox_key import MailboxKey
from .models import (
    Admin,
    AdminSession,
    ApiToken,
    AuditEntry,
    Domain,
    EpochInfo,
    ListedMessage,
    Mailbox,
    MessageInfo,
)


def open_store(
    data_dir: str | os.PathLike,
    *,
    index: str = "sqlite",
    index_password: str | None = None,
    **options: Any,
) -> Store:
    """The store of `data_dir` (see storage/contract/ for what it promises).

    `index` is "sqlite" (DATA/gateway.db) or a postgresql:// URL (storage/postgres/);
    message files go to `options["blobs"]` with either (default: FileBlobs under DATA;
    an S3Blobs puts them in an object store): every combination works.
    """
    from .index_location import POSTGRESQL, index_kind

    if index_kind(index) == POSTGRESQL:
        from .blobs import FileBlobs
        from .data_dir import claim_data_directory, mark_data_directory
        from .postgres.store import PostgresStore

        claim_data_directory(Path(data_dir))
        blobs = options.pop("blobs", None) or FileBlobs(Path(data_dir))
        store = PostgresStore(index, blobs, data_dir, password=index_password, **options)
        mark_data_directory(Path(data_dir))
        return store
    from .sqlite import SqliteStore

    return SqliteStore(data_dir, **options)


__all__ = [
    "Admin",
    "AdminSession",
    "AlreadyExists",
    "ApiToken",
    "AuditEntry",
    "ConfirmationNeeded",
    "Domain",
    "DomainInUse",
    "EpochInfo",
    "Forbidden",
    "InvalidInput",
    "KdfParams",
    "Mailbox",
    "MailboxKey",
    "MessageDamaged",
    "ListedMessage",
    "MessageInfo",
    "NotADataDirectory",
    "NotDeletable",
    "NotEmpty",
    "NotFound",
    "OutOfScope",
    "QuotaExceeded",
    "SealError",
    "StorageFull",
    "Store",
    "StoreError",
    "WrongPassphrase",
    "WrongPassword",
    "open_store",
]
