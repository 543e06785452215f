"""The Maintenance area on the PostgreSQL index (storage/contract/maintenance.py).

Message files are reached only through the BlobStore's portable methods (open, remove,
iter_files, quarantine, clean_temp, free_bytes), so that an object store can take the
file store's place: no file paths, no stat. Temp files and file modes stay node-local
(DATA on each node), as in storage/sqlite/maintenance.py, which this extends.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path
from typing import BinaryIO, NoReturn

from ..delivery import PublishedFile
from ..errors import StoreError
from ..sqlite.maintenance import SqliteMaintenance
from .database import PostgresDatabase
from .messages import index_message

READ_BLOCK = 1 << 20


class IndexBackupUnsupported(StoreError):
    """A PostgreSQL index is backed up with PostgreSQL's own tools, not the file snapshot."""


def _digest_and_size(fh: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while block := fh.read(READ_BLOCK):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def _modified(fh: BinaryIO) -> float:
    """The file's modification time where the store has one; now otherwise."""
    try:
        return os.fstat(fh.fileno()).st_mtime
    except (OSError, io.UnsupportedOperation, AttributeError):
        return time.time()


class PostgresMaintenance(SqliteMaintenance):
    _db: PostgresDatabase  # type: ignore[assignment]

    def _exists(self, relpath: str) -> bool:
        try:
            with self._blobs.open(relpath):
                return True
        except FileNotFoundError:
            return False

    def adopt_orphan(self, relpath: str) -> bool:
        binding = self._adoptable(relpath)
        if binding is None:
            return False
        with self._blobs.open(relpath) as fh:
            digest, stored_size = _digest_and_size(fh)
            received = _modified(fh)
        found = PublishedFile(
            binding.message_id,
            binding.mailbox_id,
            binding.epoch,
            -1,  # unknown until a key opens it (fill_unknown_sizes)
            stored_size,
            received,
            binding.encoding,
            relpath,
            digest,
            "",
        )
        with self._db.write() as conn:
            index_message(conn, found, quota=False)
        return True

    def _probe_blobs(self) -> None:
        probe = self._blobs.new_temp("ready-probe")
        probe.write(b"ok")
        probe.discard()

    def stored_file_mtime(self, relpath: str) -> float:
        with self._blobs.open(relpath) as fh:
            return _modified(fh)

    def snapshot_index(self, target: Path) -> NoReturn:
        raise IndexBackupUnsupported(
            "the index is in PostgreSQL: back it up with pg_dump (or the server's"
            " continuous archiving); the message files are backed up as before"
        )
