"""Shared state of the SQLite store's parts."""

from __future__ import annotations

import sqlite3

from argon2 import PasswordHasher

from ..blobs import BlobStore
from ..errors import NotFound
from ..events import MailboxEvents
from ..keys import KdfParams
from .database import Database


class StoreBase:
    db: Database
    blobs: BlobStore
    kdf: KdfParams
    password_hasher: PasswordHasher  # admin console passwords
    recipient_type: str
    compress: bool
    events: MailboxEvents

    def _one_row(self, sql: str, params: tuple, missing: str) -> sqlite3.Row:
        """The first row `sql` selects (reading connection); NotFound(missing) if none."""
        row = self.db.conn().execute(sql, params).fetchone()
        if row is None:
            raise NotFound(missing)
        return row
