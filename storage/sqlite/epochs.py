"""Key epoch rows, shared by the mailboxes area (first epoch) and the keyring."""

from __future__ import annotations

import sqlite3
import time

from .. import keys
from .. import passphrase as passphrases
from ..keys import KdfParams, SealedSeed
from . import rows
from .database import Database


class EpochSealer:
    """Seals a new epoch's seed under a passphrase with this store's KDF and key type."""

    def __init__(self, kdf: KdfParams, recipient_type: str) -> None:
        self.kdf = kdf
        self.recipient_type = recipient_type

    def new_epoch(self, mailbox_id: str, epoch: int, passphrase: str) -> SealedSeed:
        seed, recipient = keys.new_seed(self.recipient_type)
        salt = keys.new_salt()
        kek = self.kdf.derive(passphrases.normalize(passphrase), salt)
        return keys.seal(
            mailbox_id, epoch, self.recipient_type, recipient, seed, kek, salt, self.kdf
        )


def insert_epoch(conn: sqlite3.Connection, sealed: SealedSeed, state: str) -> None:
    """Inside the caller's write transaction; an existing epoch keeps its creation time.
    (Standard SQL upsert: the PostgreSQL index runs this same statement.)"""
    conn.execute(
        "INSERT INTO epochs(mailbox_id, epoch, kind, recipient, state, salt, nonce,"
        " sealed_seed, kdf_memory_kib, kdf_iterations, kdf_lanes, created)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (mailbox_id, epoch) DO UPDATE SET"
        " kind=excluded.kind, recipient=excluded.recipient, state=excluded.state,"
        " salt=excluded.salt, nonce=excluded.nonce, sealed_seed=excluded.sealed_seed,"
        " kdf_memory_kib=excluded.kdf_memory_kib, kdf_iterations=excluded.kdf_iterations,"
        " kdf_lanes=excluded.kdf_lanes",
        (
            sealed.mailbox_id,
            sealed.epoch,
            sealed.kind,
            sealed.recipient,
            state,
            sealed.salt,
            sealed.nonce,
            sealed.ciphertext,
            sealed.kdf.memory_kib,
            sealed.kdf.iterations,
            sealed.kdf.lanes,
            time.time(),
        ),
    )


def current_epoch(db: Database, mailbox_id: str) -> SealedSeed:
    row = db.one_row(
        "SELECT * FROM epochs WHERE mailbox_id=? ORDER BY epoch DESC LIMIT 1",
        (mailbox_id,),
        f"mailbox {mailbox_id} has no key",
    )
    return rows.sealed_seed(row)


def sealed_epochs(db: Database, mailbox_id: str, state: str | None = None) -> list[SealedSeed]:
    sql = "SELECT * FROM epochs WHERE mailbox_id=?"
    args: tuple = (mailbox_id,)
    if state is not None:
        sql += " AND state=?"
        args += (state,)
    return [rows.sealed_seed(r) for r in db.conn().execute(sql + " ORDER BY epoch", args)]
