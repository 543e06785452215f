"""One message's plaintext for one FETCH response: decrypted once for all its items.

A FETCH may ask one message for its structure and several sections (e.g.
`BODY[HEADER] BODY[TEXT] BODY[1]`). Every item reads byte ranges through one
`Plaintext`, so the message is decrypted once per FETCH, not once per item:

- up to MEMORY_BOUND bytes, what has been decrypted is kept in memory for the rest of
  the response (and dropped with it), so any range, in any order, is served from it;
- above the bound nothing is kept but the last chunk: ranges asked in ascending order
  continue the one decryption, and a range starting before it decrypts again from the
  start. A large message is therefore decrypted at most twice for the usual
  structure-then-sections FETCH (the walk, then the sections in order).

Plaintext never touches disk.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

MEMORY_BOUND = 1024 * 1024  # bytes of one message's plaintext held during its FETCH

ChunkSource = Callable[[], AsyncGenerator[bytes, None]]


class Plaintext:
    """Ranges of one message's plaintext; `open_chunks()` starts a decryption."""

    def __init__(self, open_chunks: ChunkSource, size: int, bound: int = MEMORY_BOUND) -> None:
        self._open = open_chunks
        self._keep_all = 0 <= size <= bound
        self._chunks: AsyncGenerator[bytes, None] | None = None
        self._exhausted = False
        self._held: list[bytes] = []  # every chunk taken, or only the last one
        self._held_from = 0  # plaintext offset of the first held chunk
        self._pos = 0  # plaintext offset just past the last chunk taken

    async def read(
        self, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes | memoryview, None]:
        """The bytes [start, end) (to the end of the message when end is None), in pieces.

        Raises MessageDamaged (from the store) when a chunk fails authentication.
        """
        if start < self._held_from:
            await self._restart()
        offset = self._held_from
        for chunk in list(self._held):
            piece = _overlap(chunk, offset, start, end)
            offset += len(chunk)
            if piece:
                yield piece
        while (end is None or self._pos < end) and not self._exhausted:
            fresh = await self._next_chunk()
            if fresh is None:
                return
            piece = _overlap(fresh, self._pos - len(fresh), start, end)
            if piece:
                yield piece

    async def _next_chunk(self) -> bytes | None:
        if self._chunks is None:
            self._chunks = self._open()
        try:
            chunk = await anext(self._chunks)
        except StopAsyncIteration:
            self._exhausted = True
            return None
        if not self._keep_all:
            self._held_from = self._pos
            self._held.clear()
        self._held.append(chunk)
        self._pos += len(chunk)
        return chunk

    async def _restart(self) -> None:
        await self.aclose()
        self._held, self._held_from, self._pos, self._exhausted = [], 0, 0, False

    async def aclose(self) -> None:
        """End the decryption in progress (its worker-thread iterator included)."""
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            await chunks.aclose()


def _overlap(chunk: bytes, offset: int, start: int, end: int | None) -> bytes | memoryview:
    """The part of `chunk` (at plaintext `offset`) inside [start, end), not copied."""
    low = max(start - offset, 0)
    high = len(chunk) if end is None else min(end - offset, len(chunk))
    if low == 0 and high == len(chunk):
        return chunk
    return memoryview(chunk)[low:high] if high > low else b""
