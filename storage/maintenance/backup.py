"""Online backup of a data directory, and restore into an empty one.

Consistency while mail keeps arriving and being deleted
-------------------------------------------------------
1. The index is copied with SQLite's online backup API in a single step, i.e. inside one
   read transaction: the copy is one committed state of gateway.db ("the snapshot").
   Writers are not blocked (WAL), so delivery continues.
2. The blob files are then copied for exactly the rows *of the snapshot* (read from the
   copy). Files committed after the snapshot are not needed; uncommitted files are not
   messages yet (their senders got no 250).
3. A file can vanish between the snapshot and its copy only because its message was
   deleted after the snapshot: the store deletes the row first and the file second, and
   never changes a file after it is committed. Pinning files beforehand (hard links
   made before the snapshot) or holding the write lock while linking would either leave
   a race open or stall delivery on a large archive. Instead, when a file is gone, the
   live index is asked again: if the row is gone too, the message was deleted on
   purpose (POP3 DELE, expunge, retention) during the backup, and its row is dropped
   from the copy, with the mailbox counters recomputed. The backup then shows that
   message as already deleted, which is a state the live store really passed through
   for that message. The ids are listed in the manifest (`deleted_during_backup`).
   If the row is still there, the live store has lost the file: the row is kept, the
   path listed under `missing` and the backup reported as not clean (run fsck).
   Once a file is open, deleting it cannot truncate what is read (POSIX unlink).
4. Every copied file is hashed as it is copied and compared with the SHA-256 in the
   index; a mismatch means the live file is damaged: it is copied as it is and listed
   under `damaged`.
5. tls/ and the marker file are copied, and secrets/ (the seal key of the TOTP
   secrets, the console's CSRF key) only when asked (`include_secrets`): by default a
   backup that leaks does not carry the key to what is sealed in its index; restore
   then takes the key separately. Everything is fsynced; the manifest is written last,
   so a directory without one is an unfinished backup. Every directory is made 0700
   and every file 0600, whatever the umask.

Every message acknowledged before the backup started is therefore in the backup unless
it was deleted by a client before the copy finished.

With message files in an object store (storage.blobs = s3://...), step 2 reads each
object through the store instead of the disk; the backup has the same layout as one of
a files store, so `restore` makes a files data directory from it (message files under
DATA/blobs/). A GET can fail if its object is deleted while read (not POSIX): the backup
then stops with the store's error and is simply run again.

With the index in PostgreSQL, step 1 reads every table in one REPEATABLE READ READ ONLY
transaction (one committed state; deliveries on every node go on) into a new SQLite
index copy, gateway.db (storage/postgres/table_io.py): the backup is then laid out as
any other and says `"index_from": "postgresql"` in its manifest. `restore` makes a
SQLite data directory of it, or, with storage.index set to an empty PostgreSQL
database, fills that database (and the configured blobs) through the migration
(storage/maintenance/migrate.py). Steps 2-5 are the same.

The manifest carries SHA-256 sums of the index copy and the small files; blob files are
covered by the sums in the index copy. That detects damage and naive tampering, not a
forger who rewrites both (message files are in any case authenticated by age).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..blobs import fsync_dir
from ..contract import Store
from ..contract.maintenance import IndexSnapshot
from ..errors import StoreError
from ..file_modes import DIR_MODE
from .files import (
    copy_durably,
    copy_stream_durably,
    is_empty_or_missing,
    make_dirs_durably,
    sha256_file,
    walk_files,
    write_json_durably,
)

log = logging.getLogger("storage.backup")

MANIFEST = "backup-manifest.json"
FORMAT = "journal-gateway-backup"
FORMAT_VERSION = 1
INDEX = "gateway.db"
MARKER = ".journal-gateway"
EXTRA_DIRS = ("tls", "secrets")
SECRETS_DIR = "secrets"


class BackupError(StoreError):
    """A backup could not be made, or a backup is unusable for restore."""


@dataclass
class BackupReport:
    dest: str
    created: float
    schema_version: int
    mailboxes: int = 0
    messages: int = 0
    blob_bytes: int = 0
    deleted_during_backup: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    secrets_included: bool = False
    index_from: str = "sqlite"  # the index backed up: "sqlite" or "postgresql"

    @property
    def clean(self) -> bool:
        """False when the live store had missing or damaged files (see fsck)."""
        return not self.missing and not self.damaged

    def manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)),
            "created_unix": self.created,
            "schema_version": self.schema_version,
            "mailboxes": self.mailboxes,
            "messages": self.messages,
            "blob_bytes": self.blob_bytes,
            "deleted_during_backup": self.deleted_during_backup,
            "missing": self.missing,
            "damaged": self.damaged,
            "files": self.files,
            "secrets_included": self.secrets_included,
            "index_from": self.index_from,
            "seconds": round(self.seconds, 3),
        }


def backup(
    store: Store,
    dest: str | Path,
    progress: Callable[[str], None] | None = None,
    *,
    include_secrets: bool = False,
) -> BackupReport:
    """Copy the store's data directory to `dest` (new or empty) while it stays in use.

    `progress`, if given, is called with "index" once the snapshot is taken and with
    "blobs" once the message files are copied. `include_secrets` adds DATA/secrets/.
    """
    progress = progress or (lambda phase: None)
    dest = Path(dest)
    data_dir = Path(store.maintenance.data_dir).resolve()
    _check_destination(dest, data_dir)
    make_dirs_durably(dest)
    os.chmod(dest, DIR_MODE)  # also when it existed (empty) with a wider mode
    started = time.monotonic()
    report = BackupReport(
        str(dest), time.time(), schema_version=0, secrets_included=include_secrets
    )
    index_copy = dest / INDEX
    snapshot = store.maintenance.snapshot_index(index_copy)
    progress("index")
    report.index_from = snapshot.origin
    try:
        report.schema_version = snapshot.schema_version()
        _copy_blobs(store, snapshot, dest, report)
        progress("blobs")
        if report.deleted_during_backup:
            snapshot.drop_messages(report.deleted_during_backup)
        report.mailboxes, report.messages = snapshot.counts()
    finally:
        snapshot.close()  # one self-contained file
    report.files[INDEX] = sha256_file(index_copy)
    _copy_small_files(data_dir, dest, report, include_secrets)
    fsync_dir(dest)
    report.seconds = time.monotonic() - started
    write_json_durably(dest / MANIFEST, report.manifest())
    log.info(
        "backup to %s: %d messages, %d bytes, %d deleted during backup, %d missing, %d damaged",
        dest,
        report.messages,
        report.blob_bytes,
        len(report.deleted_during_backup),
        len(report.missing),
        len(report.damaged),
    )
    return report


def _check_destination(dest: Path, data_dir: Path) -> None:
    resolved = dest.resolve()
    if resolved == data_dir or data_dir in resolved.parents:
        raise BackupError(f"{dest} is inside the data directory; back up to another place")
    if not is_empty_or_missing(dest):
        raise BackupError(f"{dest} is not empty; back up into a new or empty directory")


def _copy_blobs(store: Store, snapshot: IndexSnapshot, dest: Path, report: BackupReport) -> None:
    directories: set[Path] = set()
    for message_id, relpath, expected in snapshot.message_files():
        target = dest / relpath
        if target.parent not in directories:
            make_dirs_durably(target.parent)
            directories.add(target.parent)
        try:
            with store.maintenance.open_stored_file(relpath) as source:
                digest, size = copy_stream_durably(source, target)
        except FileNotFoundError:
            if store.maintenance.is_indexed(message_id):
                report.missing.append(relpath)
            else:
                report.deleted_during_backup.append(message_id)
            continue
        report.blob_bytes += size
        if digest != expected:
            report.damaged.append(relpath)
    for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(directory)


def _copy_small_files(
    data_dir: Path, dest: Path, report: BackupReport, include_secrets: bool
) -> None:
    """The marker, tls/, and secrets/ when asked (all copied 0600)."""
    sources = [data_dir / MARKER] if (data_dir / MARKER).is_file() else []
    for name in EXTRA_DIRS:
        if name != SECRETS_DIR or include_secrets:
            sources.extend(walk_files(data_dir / name))
    for source in sources:
        relpath = source.relative_to(data_dir).as_posix()
        target = dest / relpath
        make_dirs_durably(target.parent)
        report.files[relpath], _ = copy_durably(source, target)
        fsync_dir(target.parent)
