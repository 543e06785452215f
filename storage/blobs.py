"""Message files on disk, written durably: temp file, fsync, rename, fsync directory.

Files are created 0600 and directories 0700 (storage/file_modes.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .file_modes import FILE_MODE, create_private_file, make_private_dirs

TEMP_SUFFIX = ".part"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TempBlob:
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


class BlobStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir
        self.tmp = data_dir / "tmp"
        self.blobs = data_dir / "blobs"
        self.quarantine_dir = data_dir / "quarantine"
        for path in (self.tmp, self.blobs, self.quarantine_dir):
            make_private_dirs(path)

    @staticmethod
    def relative_path(mailbox_id: str, received: float, message_id: str) -> str:
        t = time.gmtime(received)
        return f"blobs/{mailbox_id}/{t.tm_year:04d}/{t.tm_mon:02d}/{message_id}.age"

    def new_temp(self, message_id: str) -> TempBlob:
        return TempBlob(self.tmp / f"{message_id}{TEMP_SUFFIX}")

    def publish(self, temp: TempBlob, relpath: str) -> Path:
        """Rename a closed temp file into place; returns the directory to fsync."""
        target = self.root / relpath
        self._make_dirs_durably(target.parent)
        os.replace(temp.path, target)
        return target.parent

    def _make_dirs_durably(self, directory: Path) -> None:
        if directory.is_dir():
            return
        for created in make_private_dirs(directory):
            fsync_dir(created.parent)

    def path(self, relpath: str) -> Path:
        return self.root / relpath

    def open(self, relpath: str) -> BinaryIO:
        return open(self.root / relpath, "rb")

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

    def clean_temp(self) -> int:
        removed = 0
        for path in self.tmp.glob(f"*{TEMP_SUFFIX}"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def free_bytes(self) -> int:
        stat = os.statvfs(self.root)
        return stat.f_bavail * stat.f_frsize
