"""The data directory itself: refusing someone else's, making a new one private."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import NotADataDirectory
from .file_modes import DIR_MODE, FILE_MODE

MARKER = ".journal-gateway"
OWN_ENTRIES = frozenset(
    {
        MARKER,
        "gateway.db",
        "gateway.db-wal",
        "gateway.db-shm",
        "blobs",
        "tmp",
        "quarantine",
        "tls",
        "secrets",
    }
)


def claim_data_directory(data_dir: str | os.PathLike) -> Path:
    """Refuse a directory that holds someone else's files; create a missing one (0700).

    Its parents, when missing, are made too (with the umask's mode: they are not ours).
    """
    path = Path(data_dir)
    marker = path / MARKER
    if path.exists() and not path.is_dir():
        raise NotADataDirectory("{path} is not a directory", path=path)
    if path.is_dir() and not marker.exists():
        foreign = [p.name for p in path.iterdir() if p.name not in OWN_ENTRIES]
        if foreign:
            raise NotADataDirectory(
                "{path} is not a Journal Gateway data directory (it holds {files})",
                path=path,
                files=", ".join(sorted(foreign)[:3]),
            )
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=DIR_MODE)
            os.chmod(path, DIR_MODE)
        except FileExistsError:
            pass  # made by another process meanwhile
    return path


def mark_data_directory(data_dir: Path) -> None:
    """Mark the directory as ours, once its index was accepted (never a refused one)."""
    marker = data_dir / MARKER
    if marker.exists():
        return
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write("Journal Gateway data directory. Do not edit files here.\n")
