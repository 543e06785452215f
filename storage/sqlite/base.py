"""Shared state of the SQLite store's parts."""

from __future__ import annotations

from ..blobs import BlobStore
from ..events import MailboxEvents
from ..keys import KdfParams
from .database import Database


class StoreBase:
    db: Database
    blobs: BlobStore
    kdf: KdfParams
    recipient_type: str
    compress: bool
    events: MailboxEvents
