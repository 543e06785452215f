"""ChunkBody: the bytes of one upload part kept as the chunks they arrived in.

A part is 8 MiB. Joining it into one buffer per part costs an 8 MiB allocation (and a
copy) each time, and the C allocator keeps such blocks per thread long after they are
freed, so a server's memory would grow with the number and size of messages in
flight. Chunks of the sealer's size (64 KiB) are reused by the allocator instead.
botocore reads the body as a seekable file (to sign it, to resend it on a retry).
"""

from __future__ import annotations

import io
from typing import Any


class ChunkBody(io.RawIOBase):
    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._length = 0
        self._position = 0  # offset of the next read
        self._index = 0  # chunk holding that offset
        self._offset = 0  # where in that chunk

    def append(self, data: bytes) -> None:
        if data:
            self._chunks.append(data)
            self._length += len(data)

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        target = min(max(0, base + offset), self._length)
        self._position, self._index, self._offset = 0, 0, 0
        self._advance(target)
        return self._position

    def _advance(self, count: int) -> None:
        while count and self._index < len(self._chunks):
            take = min(count, len(self._chunks[self._index]) - self._offset)
            self._offset += take
            self._position += take
            count -= take
            if self._offset == len(self._chunks[self._index]):
                self._index, self._offset = self._index + 1, 0

    def read(self, size: int | None = -1) -> bytes:
        """At most `size` bytes from the current chunk (a short read, as a raw file may
        give): whole chunks go out as they are, without a copy. -1: everything left."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        if self._index >= len(self._chunks) or size == 0:
            return b""
        chunk = self._chunks[self._index]
        take = min(size, len(chunk) - self._offset)
        if take == len(chunk):
            data = chunk
        else:
            data = chunk[self._offset : self._offset + take]
        self._advance(take)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._index < len(self._chunks):
            chunk = self._chunks[self._index]
            take = min(len(view) - filled, len(chunk) - self._offset)
            view[filled : filled + take] = chunk[self._offset : self._offset + take]
            filled += take
            self._advance(take)
        return filled
