"""Encrypting and decrypting one stored message (age v1 + bind stanza + optional zstd)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import BinaryIO

import zstandard

from .age import AgeError, AgeReader, AgeWriter, Header, parse_recipient
from .age.header import find_header_end, parse_header
from .age.recipients import Identity
from .bind import BindError, Binding, read_binding
from .errors import MessageDamaged

READ_SIZE = 256 * 1024
OUT_CHUNK = 64 * 1024
# Level 1: on mail (text plus base64 attachments) it compresses as well as level 3 and
# ~20 % faster, and compression sits on the delivery path.
ZSTD_LEVEL = 1


@functools.lru_cache(maxsize=4096)
def _recipient(encoded: str):
    """Parsed recipients, cached: decoding a ~1,950-character post-quantum Bech32 key in
    Python costs ~2 ms, more than the key wrap itself. Recipient objects are immutable."""
    return parse_recipient(encoded)


class MessageSealer:
    """Write side: plaintext in, age file bytes out; header() first, finish() last."""

    def __init__(self, recipient: str, binding: Binding) -> None:
        self._writer = AgeWriter([_recipient(recipient)], [binding.stanza()])
        self._compressor = (
            zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
            if binding.encoding == "zstd"
            else None
        )

    def header(self) -> bytes:
        return self._writer.header()

    def update(self, data: bytes) -> bytes | bytearray:
        if self._compressor is not None:
            data = self._compressor.compress(data)
        return self._writer.update(data) if data else b""

    def finish(self) -> bytes | bytearray:
        tail: bytes | bytearray = b""
        if self._compressor is not None:
            tail = self._writer.update(self._compressor.flush())
        return tail + self._writer.finish()


def read_file_binding(fh: BinaryIO) -> Binding:
    """The bind stanza of a stored file, without any key (for reconciliation)."""
    buf = b""
    while True:
        piece = fh.read(8192)
        buf += piece
        end = find_header_end(buf)
        if end is not None:
            break
        if not piece:
            raise BindError("file ends inside the header")
    try:
        return read_binding(parse_header(buf[:end]))
    except AgeError as exc:
        raise BindError(str(exc)) from None


class _DecryptedStream:
    """A read()-able view of the authenticated plaintext, for zstd's stream reader.

    Reads are served from the current piece by offset: slicing off the rest after
    every read would copy each 256 KiB piece several times.
    """

    def __init__(self, pieces: Iterator[bytes | bytearray]) -> None:
        self._pieces = pieces
        self._piece: bytes | bytearray = b""
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            rest = [self._piece[self._pos :], *self._pieces]
            self._piece, self._pos = b"", 0
            return b"".join(rest)
        while self._pos >= len(self._piece):
            piece = next(self._pieces, None)
            if piece is None:
                return b""
            self._piece, self._pos = piece, 0
        with memoryview(self._piece) as view:
            out = bytes(view[self._pos : self._pos + size])
        self._pos += len(out)
        return out


def _decrypt_pieces(fh: BinaryIO, reader: AgeReader) -> Iterator[bytes | bytearray]:
    try:
        while piece := fh.read(READ_SIZE):
            out = reader.update(piece)
            if out:
                yield out
        out = reader.finish()
        if out:
            yield out
    except (AgeError, BindError) as exc:
        raise MessageDamaged("stored message failed authentication: {error}", error=exc) from None


def open_plaintext(fh: BinaryIO, identities: list[Identity], expected: Binding) -> Iterator[bytes]:
    """Yield authenticated plaintext of a stored message in chunks of at most 64 KiB.

    The bind stanza must equal `expected` (checked after the MAC, before the payload).
    Raises MessageDamaged, possibly after some chunks were yielded: a consumer that
    streams must then abort rather than present a partial message as whole.
    """
    check: Callable[[Header], None] = lambda header: _check_binding(header, expected)  # noqa: E731
    reader = AgeReader(identities, check_header=check)
    pieces = _decrypt_pieces(fh, reader)
    if expected.encoding == "raw":
        for piece in pieces:
            with memoryview(piece) as view:
                for i in range(0, len(piece), OUT_CHUNK):
                    yield bytes(view[i : i + OUT_CHUNK])
        return
    source = _DecryptedStream(pieces)
    try:
        # zstd calls only read(); its stub asks for a whole IO[bytes].
        with zstandard.ZstdDecompressor().stream_reader(
            source,  # type: ignore[arg-type]
            read_size=OUT_CHUNK,
            closefd=False,
        ) as zr:
            while chunk := zr.read(OUT_CHUNK):
                yield chunk
    except zstandard.ZstdError as exc:
        raise MessageDamaged("stored message does not decompress: {error}", error=exc) from None


def _check_binding(header: Header, expected: Binding) -> None:
    try:
        found = read_binding(header)
    except BindError as exc:
        raise MessageDamaged(str(exc)) from None
    if found != expected:
        raise MessageDamaged("file belongs to another mailbox, message or epoch")
