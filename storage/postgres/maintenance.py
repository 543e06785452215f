"""The Maintenance area on the PostgreSQL index (storage/contract/maintenance.py).

Message blobs are reached only through the Blobs protocol (storage/contract/blobs.py),
so FileBlobs and S3Blobs both serve; temp files and file modes stay node-local (DATA on
each node). This extends storage/sqlite/maintenance.py: only the row insert and the
index snapshot differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from ..delivery import PublishedFile
from ..errors import StoreError
from ..sqlite.maintenance import SqliteMaintenance
from .database import PostgresDatabase
from .messages import index_message


class IndexBackupUnsupported(StoreError):
    """A PostgreSQL index is backed up with PostgreSQL's own tools, not the file snapshot."""


class PostgresMaintenance(SqliteMaintenance):
    _db: PostgresDatabase  # type: ignore[assignment]

    def adopt_orphan(self, relpath: str) -> bool:
        binding = self._adoptable(relpath)
        if binding is None:
            return False
        found = self._digest_and_stat(relpath)
        if found is None:
            return False
        digest, stat = found
        row = PublishedFile(
            binding.message_id,
            binding.mailbox_id,
            binding.epoch,
            -1,  # unknown until a key opens it (fill_unknown_sizes)
            stat.size,
            stat.mtime,
            binding.encoding,
            relpath,
            digest,
            "",
        )
        with self._db.write() as conn:
            index_message(conn, row, quota=False)
        return True

    def snapshot_index(self, target: Path) -> NoReturn:
        raise IndexBackupUnsupported(
            "the index is in PostgreSQL: back it up with pg_dump (or the server's"
            " continuous archiving); the message files are backed up as before"
        )
