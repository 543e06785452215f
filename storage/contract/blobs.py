"""Blobs: where the encrypted message files live (DATA/blobs/ on disk, or S3 objects).

The index decides what exists; a blob store only keeps bytes under a relative path
(`relative_path()`, the same scheme for every implementation). A delivery writes a temp
blob, publishes it under its final path, then the index row is committed. A blob is
never changed after it is published; a second publish to the same path is refused.

"Durable" for publish: once `publish()` and then `make_durable()` on its handle have
returned, the whole blob survives a crash of this process and of this machine:
- files: the temp file was fsynced, renamed into place and its directory fsynced;
- S3: the object store acknowledged the whole object (PUT or CompleteMultipartUpload
  returned success; both carry If-None-Match: * so nothing is overwritten).
Until then a failure leaves no blob under the final path (the temp is discarded).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol


def relative_path(mailbox_id: str, received: float, message_id: str) -> str:
    """blobs/<mailbox>/<yyyy>/<mm>/<message-id>.age (the id is reserved before writing)."""
    t = time.gmtime(received)
    return f"blobs/{mailbox_id}/{t.tm_year:04d}/{t.tm_mon:02d}/{message_id}.age"


@dataclass(frozen=True)
class BlobStat:
    size: int
    mtime: float  # Unix time it was last written (file mtime, object LastModified)


class TempBlob(Protocol):
    """A message file being written; it is nowhere visible until published."""

    @property
    def size(self) -> int:
        """Bytes written so far."""
        ...

    def write(self, data: bytes | bytearray) -> None:
        """Append; may send bytes on (S3 parts) so memory stays bounded."""
        ...

    def close_durably(self) -> None:
        """No more writes; what was written is on stable storage or about to be
        published as one whole (files: fsynced; S3: the last part is held for publish)."""
        ...

    def sha256(self) -> str:
        """Hex SHA-256 of every byte written."""
        ...

    def discard(self) -> None:
        """Throw it away (safe after a failed write); nothing stays behind."""
        ...


class Blobs(Protocol):
    """One blob store. Paths given and returned are relative (relative_path())."""

    # Seconds a published blob without an index row must have existed before reconcile
    # adopts or quarantines it: 0 when only one process can be delivering at that time
    # (files, start-up), longer than any delivery's publish-to-commit gap otherwise.
    orphan_grace: float

    def new_temp(self, message_id: str, relpath: str) -> TempBlob:
        """A temp blob for the message that will be published at `relpath`."""
        ...

    def publish(self, temp: TempBlob, relpath: str) -> str:
        """Put a closed temp blob in place under `relpath`; returns a handle for
        make_durable (files: the directory to fsync; S3: "" as the object already is).
        S3 refuses to replace an existing object (AlreadyExists); files rely on the
        message id being fresh. On any error no new blob is left at `relpath`."""
        ...

    def make_durable(self, handles: Collection[str]) -> None:
        """Finish durability of published blobs (one pass for many, as group commit does)."""
        ...

    def open(self, relpath: str) -> BinaryIO:
        """A streaming reader (read(n), close, with-block); FileNotFoundError when gone."""
        ...

    def stat(self, relpath: str) -> BlobStat:
        """FileNotFoundError when gone."""
        ...

    def remove(self, relpath: str) -> None:
        """Delete it; already gone is not an error."""
        ...

    def iter_files(self) -> Iterator[str]:
        """Every published blob's path (indexed or not), in path order."""
        ...

    def quarantine(self, relpath: str) -> str:
        """Move a blob out of the store (kept for forensics); returns where it went.
        FileNotFoundError when gone."""
        ...

    def clean_temp(self, older_than: float | None = None) -> int:
        """Remove unfinished temp blobs last written at or before `older_than` (Unix
        time); None: the implementation's safe default (files at start-up: all of them;
        S3: those older than its temp grace, so a live delivery on another node is never
        touched). Returns how many were removed."""
        ...

    def stale_temps(self, older_than: float) -> list[str]:
        """Names of unfinished temp blobs last written at or before `older_than`."""
        ...

    def remove_temp(self, name: str) -> None:
        """Remove one temp blob named by stale_temps; already gone is fine."""
        ...

    def free_bytes(self) -> int:
        """Free bytes on this node's data directory (DATA). The disk reserve applies
        to it; an object store has no free-space notion and is not counted."""
        ...

    def check_writable(self) -> None:
        """Raise unless a blob can be written now (readiness)."""
        ...
