"""S3Blobs: the Blobs contract (storage/contract/blobs.py) on an S3-compatible store.

A message's object key is its relative path (blobs/<mailbox>/<yyyy>/<mm>/<id>.age) under
the configured prefix; the id is reserved before a byte is written. A delivery streams
the encrypted age bytes into a multipart upload as they come (at most one part, 8 MiB
and a chunk, held in memory, whatever the message size); publish completes it, or PUTs
a message smaller than one part, with If-None-Match: * so no object is ever replaced.
Until then nothing is listed under the key: a failed or abandoned delivery leaves at
most an unfinished upload, which clean_temp aborts once older than `temp_grace`.

Times on the object store are those of its clock. For safety while other nodes deliver,
`temp_grace` and `orphan_grace` must be longer than the longest SMTP transaction
(smtp.transaction_timeout): S3 dates a multipart object by when its upload began.

The object store has no free space to speak of: free_bytes() is this node's DATA,
where the disk reserve still protects the index.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from ..blobs import local_free_bytes
from ..contract.blobs import BlobStat, TempBlob
from ..errors import NotFound
from .chunks import ChunkBody
from .objects import ObjectStore, Upload

BLOB_PREFIX = "blobs/"
QUARANTINE_PREFIX = "quarantine/"
PROBE_PREFIX = "tmp/ready-probe-"
UPLOAD_MARK = "#"  # a temp's name: <key>#<upload id>
# One hour of smtp.transaction_timeout (its default) plus a quarter of an hour.
DEFAULT_GRACE = 3600.0 + 900.0


class S3TempBlob:
    """A delivery's object on its way up: full parts are sent as soon as they fill."""

    def __init__(self, upload: Upload, relpath: str, part_size: int) -> None:
        self.relpath = relpath
        self._upload = upload
        self._part_size = part_size
        self._part = ChunkBody()  # one part at most (storage/s3/chunks.py)
        self._closed = False

    @property
    def size(self) -> int:
        return self._upload.size

    def write(self, data: bytes | bytearray) -> None:
        assert not self._closed, "temp blob already closed"
        if not data:
            return
        self._upload.digest(memoryview(data))
        self._part.append(bytes(data))
        if len(self._part) >= self._part_size:
            full, self._part = self._part, ChunkBody()
            self._upload.part(full)

    def close_durably(self) -> None:
        """The last bytes stay here: publish sends them with the completion."""
        self._closed = True

    def sha256(self) -> str:
        return self._upload.hash.hexdigest()

    def complete(self) -> None:
        """Make the object exist (PUT, or the last part and CompleteMultipartUpload)."""
        rest, self._part = self._part, ChunkBody()
        self._upload.finish(rest)

    def discard(self) -> None:
        self._part = ChunkBody()
        self._upload.abort()


class S3Blobs:
    """Message objects under one bucket and prefix; `data_dir` is this node's DATA."""

    def __init__(
        self,
        objects: ObjectStore,
        data_dir: Path,
        *,
        temp_grace: float = DEFAULT_GRACE,
        orphan_grace: float = DEFAULT_GRACE,
    ) -> None:
        self.objects = objects
        self.data_dir = Path(data_dir)
        self.temp_grace = temp_grace
        self.orphan_grace = orphan_grace

    def new_temp(self, message_id: str, relpath: str) -> S3TempBlob:
        if not relpath.startswith(BLOB_PREFIX):
            raise ValueError(f"not a message path: {relpath!r}")
        return S3TempBlob(self.objects.upload(relpath), relpath, self.objects.part_size)

    def publish(self, temp: TempBlob, relpath: str) -> str:
        """Complete the object; ObjectExists (nothing changed) if the key is taken."""
        if not isinstance(temp, S3TempBlob) or temp.relpath != relpath:
            raise ValueError("a temp blob is published under the path it was begun for")
        temp.complete()
        return ""  # acknowledged by the object store: nothing left to make durable

    def make_durable(self, handles: Collection[str]) -> None:
        return None

    def open(self, relpath: str) -> BinaryIO:
        try:
            return self.objects.open(relpath)
        except NotFound:
            raise FileNotFoundError(relpath) from None

    def stat(self, relpath: str) -> BlobStat:
        info = self.objects.head(relpath)
        if info is None:
            raise FileNotFoundError(relpath)
        return BlobStat(info.size, info.modified)

    def remove(self, relpath: str) -> None:
        self.objects.delete(relpath)

    def iter_files(self) -> Iterator[str]:
        for key in self.objects.list(BLOB_PREFIX):
            if key.endswith(".age"):
                yield key

    def quarantine(self, relpath: str) -> str:
        """Copy to quarantine/<path with _ for />, then delete the original."""
        target = QUARANTINE_PREFIX + relpath.replace("/", "_")
        try:
            self.objects.copy(relpath, target)
        except NotFound:
            raise FileNotFoundError(relpath) from None
        self.objects.delete(relpath)
        return target

    def clean_temp(self, older_than: float | None = None) -> int:
        if older_than is None:
            older_than = time.time() - self.temp_grace
        removed = 0
        for name in self.stale_temps(older_than):
            self.remove_temp(name)
            removed += 1
        return removed

    def stale_temps(self, older_than: float) -> list[str]:
        return sorted(
            f"{upload.key}{UPLOAD_MARK}{upload.upload_id}"
            for upload in self.objects.pending_uploads()
            if upload.initiated <= older_than
        )

    def remove_temp(self, name: str) -> None:
        key, mark, upload_id = name.rpartition(UPLOAD_MARK)
        if not mark or not key or not upload_id:
            raise ValueError(f"not an upload name: {name!r}")
        self.objects.abort_upload(key, upload_id)

    def free_bytes(self) -> int:
        return local_free_bytes(self.data_dir)

    def check_writable(self) -> None:
        """Write and delete a small object of a name no other node uses."""
        key = PROBE_PREFIX + secrets.token_hex(8)
        self.objects.put_stream(key, [b"ok"])
        self.objects.delete(key)
