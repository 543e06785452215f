"""The Maintenance area on the PostgreSQL index (storage/contract/maintenance.py).

Message blobs are reached only through the Blobs protocol (storage/contract/blobs.py),
so FileBlobs and S3Blobs both serve; temp files and file modes stay node-local (DATA on
each node). This extends storage/sqlite/maintenance.py: only the row insert and the
index snapshot (a SQLite copy of one REPEATABLE READ snapshot) differ.
"""

from __future__ import annotations

from pathlib import Path

from ..delivery import PublishedFile
from ..sqlite.maintenance import SqliteMaintenance
from ..sqlite.snapshot import SqliteIndexSnapshot
from .database import PostgresDatabase
from .messages import index_message
from .table_io import snapshot_to_sqlite


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

    def snapshot_index(self, target: Path) -> SqliteIndexSnapshot:
        """Every table read in one REPEATABLE READ snapshot into a SQLite index copy."""
        return snapshot_to_sqlite(self._db, target)
