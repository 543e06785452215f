"""Maintenance of a data directory: online backup and restore, integrity check, retention.

Backup, fsck and retention talk to the store only through its contract (the
Maintenance area, storage/contract/maintenance.py). Backup and restore copy a data
directory (files, tls/, secrets/); restore checks a backup's index copy through
storage/sqlite/snapshot.py before any store opens it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import NotADataDirectory
from .backup import BackupError, BackupReport, backup
from .fsck import FsckReport, Problem, fsck
from .restore import RestoreReport, restore
from .retention import RetentionReport, RetentionRules, apply_retention, rules_of, set_rules

MARKER = ".journal-gateway"


def require_data_directory(data_dir: str | Path) -> Path:
    """The path of an existing data directory; NotADataDirectory if there is none.

    Commands that inspect or copy a store must not create an empty one by opening it.
    """
    path = Path(data_dir)
    if not (path / MARKER).is_file():
        raise NotADataDirectory(
            "{path} is not a Journal Gateway data directory (no store there)", path=path
        )
    return path


__all__ = [
    "BackupError",
    "BackupReport",
    "FsckReport",
    "Problem",
    "RestoreReport",
    "RetentionReport",
    "RetentionRules",
    "apply_retention",
    "backup",
    "fsck",
    "require_data_directory",
    "restore",
    "rules_of",
    "set_rules",
]
