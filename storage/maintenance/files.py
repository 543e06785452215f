"""File helpers shared by backup, restore and fsck: hashing, durable copies, JSON."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import BinaryIO

from ..blobs import fsync_dir
from ..file_modes import DIR_MODE, create_private_file

COPY_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def make_dirs_durably(directory: Path, mode: int = DIR_MODE) -> None:
    """mkdir -p, fsyncing the parent of every directory it creates."""
    missing = []
    probe = directory
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):
        created.mkdir(mode=mode)
        fsync_dir(created.parent)


def copy_durably(source: Path, target: Path) -> tuple[str, int]:
    """Copy one file (mode 0600), fsync it; returns (SHA-256 of what was written, size).

    The hash is taken from the bytes read, i.e. the bytes written, so the caller can
    compare it with the index. The target's directory must exist; the caller fsyncs it.
    Raises FileNotFoundError when the source is gone (the caller decides what that means).
    """
    with open(source, "rb") as src:
        return copy_stream_durably(src, target)


def copy_stream_durably(source: BinaryIO, target: Path) -> tuple[str, int]:
    """copy_durably from an open reader (a message file of any blob store)."""
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(create_private_file(target), "wb") as dst:
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def write_json_durably(path: Path, document: object) -> None:
    """Write a JSON document under a temporary name, fsync, rename, fsync the directory."""
    temp = path.with_name(path.name + ".tmp")
    temp.unlink(missing_ok=True)
    with os.fdopen(create_private_file(temp, exclusive=False), "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


def is_empty_or_missing(directory: Path) -> bool:
    return not directory.exists() or (directory.is_dir() and not any(directory.iterdir()))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def walk_files(root: Path) -> list[Path]:
    """Regular files under root (recursively), sorted; symlinks are not followed."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
