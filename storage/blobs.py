"""Message files on disk, written durably: temp file, fsync, rename, fsync directory.

FileBlobs is the files implementation of the Blobs contract (storage/contract/blobs.py);
storage/s3/blobs.py is the object-store one. Files are created 0600 and directories
0700 (storage/file_modes.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from .contract.blobs import BlobStat, TempBlob, relative_path
from .file_modes import FILE_MODE, create_private_file, make_private_dirs

TEMP_SUFFIX = ".part"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TempFile:
    """A message file being written under DATA/tmp; tracks its size and SHA-256."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: BinaryIO | None = os.fdopen(create_private_file(path), "wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray) -> None:
        if data:
            assert self._fh is not None
            self._fh.write(data)
            self._hash.update(data)
            self.size += len(data)

    def close_durably(self) -> None:
        assert self._fh is not None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None

    def sha256(self) -> str:
        return self._hash.hexdigest()

    def discard(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            # Closing flushes buffered bytes, which fails when the disk is full
            # (ENOSPC, EFBIG); the file is being thrown away, so remove it anyway.
            with contextlib.suppress(OSError):
                fh.close()
        self.path.unlink(missing_ok=True)


class FileBlobs:
    """Message files under DATA/blobs/, temp files under DATA/tmp/ (DESIGN §3)."""

    # Reconcile runs at start-up before any worker delivers (gateway/serve.py), so a
    # file without a row is never a delivery about to commit.
    orphan_grace = 0.0

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir
        self.tmp = data_dir / "tmp"
        self.blobs = data_dir / "blobs"
        self.quarantine_dir = data_dir / "quarantine"
        for path in (self.tmp, self.blobs, self.quarantine_dir):
            make_private_dirs(path)

    relative_path = staticmethod(relative_path)

    def new_temp(self, message_id: str, relpath: str = "") -> TempFile:
        return TempFile(self.tmp / f"{message_id}{TEMP_SUFFIX}")

    def publish(self, temp: TempBlob, relpath: str) -> str:
        """Rename a closed temp file into place; returns the directory to fsync."""
        if not isinstance(temp, TempFile):
            raise TypeError("FileBlobs publishes only its own temp files")
        target = self.root / relpath
        self._make_dirs_durably(target.parent)
        os.replace(temp.path, target)
        return str(target.parent)

    def make_durable(self, handles: Collection[str]) -> None:
        for directory in sorted(set(handles)):
            fsync_dir(Path(directory))

    def _make_dirs_durably(self, directory: Path) -> None:
        if directory.is_dir():
            return
        for created in make_private_dirs(directory):
            fsync_dir(created.parent)

    def path(self, relpath: str) -> Path:
        """Where a message file is on disk (files only: not part of the Blobs contract)."""
        return self.root / relpath

    def open(self, relpath: str) -> BinaryIO:
        return open(self.root / relpath, "rb")

    def stat(self, relpath: str) -> BlobStat:
        info = os.stat(self.root / relpath)
        return BlobStat(info.st_size, info.st_mtime)

    def remove(self, relpath: str) -> None:
        (self.root / relpath).unlink(missing_ok=True)

    def iter_files(self) -> Iterator[str]:
        for path in sorted(self.blobs.rglob("*.age")):
            yield path.relative_to(self.root).as_posix()

    def quarantine(self, relpath: str) -> str:
        source = self.root / relpath
        target = self.quarantine_dir / relpath.replace("/", "_")
        shutil.move(source, target)
        os.chmod(target, FILE_MODE)  # a stray file may have come with any mode
        return target.relative_to(self.root).as_posix()

    def clean_temp(self, older_than: float | None = None) -> int:
        if older_than is None:
            older_than = float("inf")
        removed = 0
        for name in self.stale_temps(older_than):
            self.remove_temp(name)
            removed += 1
        return removed

    def stale_temps(self, older_than: float) -> list[str]:
        found = []
        for path in sorted(self.tmp.glob(f"*{TEMP_SUFFIX}")):
            try:
                if path.stat().st_mtime <= older_than:
                    found.append(path.relative_to(self.root).as_posix())
            except FileNotFoundError:
                continue
        return found

    def remove_temp(self, name: str) -> None:
        if not name.startswith("tmp/") or "/" in name[4:]:
            raise ValueError(f"not a temp file name: {name!r}")
        (self.root / name).unlink(missing_ok=True)

    def free_bytes(self) -> int:
        return local_free_bytes(self.root)

    def check_writable(self) -> None:
        probe = self.tmp / ".ready-probe"
        with os.fdopen(create_private_file(probe, exclusive=False), "wb") as fh:
            fh.write(b"ok")
        probe.unlink()


def local_free_bytes(directory: Path) -> int:
    """Free bytes on the file system of `directory` (for unprivileged users)."""
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


BlobStore = FileBlobs  # the name this class had before the Blobs contract
