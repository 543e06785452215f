"""The embedded store: SQLite index (WAL, synchronous=FULL) plus age files on disk."""

from .store import SqliteStore

__all__ = ["SqliteStore"]
