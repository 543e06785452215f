"""age STREAM payload: ChaCha20-Poly1305 over 64 KiB chunks, push-based.

Both directions are incremental: feed bytes as they arrive, get bytes out, memory
bounded by one chunk. The decryptor releases a chunk only after its tag verified.

Hot path: each chunk is sealed or opened straight from the caller's buffer into a
preallocated output buffer (`encrypt_into` / `decrypt_into` on memoryview slices), so
the only copies are the AEAD's own output and the sub-chunk tail kept for the next
call. pyca releases the GIL while it encrypts.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .errors import HeaderError, PayloadError
from .header import hkdf_sha256

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
CHUNK_CT_SIZE = CHUNK_SIZE + TAG_SIZE
NONCE_SIZE = 16

# What the stream classes take and return: bytes, bytearray or memoryview.
Buffer = bytes | bytearray | memoryview


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return hkdf_sha256(file_key, nonce, b"payload")


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypted_size(plain_size: int) -> int:
    """Payload size (nonce included) for a plaintext of `plain_size` bytes."""
    chunks = max(1, -(-plain_size // CHUNK_SIZE))
    return NONCE_SIZE + plain_size + chunks * TAG_SIZE


class StreamEncryptor:
    """Encrypts a payload fed in pieces. `start()` returns the payload nonce."""

    def __init__(self, file_key: bytes) -> None:
        self._nonce = os.urandom(NONCE_SIZE)
        self._aead = ChaCha20Poly1305(payload_key(file_key, self._nonce))
        self._buf = bytearray()  # the tail: at most one chunk, never sealed yet
        self._counter = 0

    def start(self) -> bytes:
        return self._nonce

    def update(self, data: Buffer) -> bytes | bytearray:
        """Feed plaintext; return ciphertext of every chunk now known not to be last.

        At least one byte stays behind, so the final chunk is never empty (unless
        the whole payload is).
        """
        total = len(self._buf) + len(data)
        if total <= CHUNK_SIZE:
            self._buf += data
            return b""
        count = (total - 1) // CHUNK_SIZE
        out = bytearray(count * CHUNK_CT_SIZE)
        with memoryview(data) as source, memoryview(out) as sink:
            pos = first = 0
            if self._buf:  # complete the held tail first (a copy of < 64 KiB)
                pos, first = CHUNK_SIZE - len(self._buf), 1
                self._buf += source[:pos]
                self._seal_into(self._buf, sink[:CHUNK_CT_SIZE], last=False)
                self._buf.clear()
            for k in range(first, count):
                self._seal_into(
                    source[pos : pos + CHUNK_SIZE],
                    sink[k * CHUNK_CT_SIZE : (k + 1) * CHUNK_CT_SIZE],
                    last=False,
                )
                pos += CHUNK_SIZE
            self._buf += source[pos:]
        return out

    def finish(self) -> bytes | bytearray:
        out = bytearray(len(self._buf) + TAG_SIZE)
        self._seal_into(self._buf, out, last=True)
        self._buf.clear()
        return out

    def _seal_into(self, chunk: Buffer, sink: bytearray | memoryview, last: bool) -> None:
        self._aead.encrypt_into(_chunk_nonce(self._counter, last), chunk, None, sink)
        self._counter += 1


class StreamDecryptor:
    """Decrypts a payload (nonce first) fed in pieces; raises PayloadError on any fault."""

    def __init__(self, file_key: bytes) -> None:
        self._file_key = file_key
        self._aead: ChaCha20Poly1305 | None = None
        self._buf = bytearray()
        self._counter = 0
        self._done = False

    def update(self, data: Buffer) -> bytes | bytearray:
        """Feed ciphertext; return plaintext of every chunk authenticated so far."""
        if self._done:
            if data:
                raise PayloadError("trailing data after the final chunk")
            return b""
        self._buf += data
        if self._aead is None:
            if len(self._buf) < NONCE_SIZE:
                return b""
            nonce = bytes(self._buf[:NONCE_SIZE])
            del self._buf[:NONCE_SIZE]
            self._aead = ChaCha20Poly1305(payload_key(self._file_key, nonce))
        # A full chunk followed by more bytes should not be the last one; if it
        # authenticates only as last, it is released and the trailing bytes refused.
        count = (len(self._buf) - 1) // CHUNK_CT_SIZE
        if count <= 0:
            return b""
        out = bytearray(count * CHUNK_SIZE)
        opened, failure = self._open_chunks(count, out)
        # `out` past the chunks that verified may hold unauthenticated bytes: never released.
        del self._buf[: min(opened + 1, count) * CHUNK_CT_SIZE]
        if failure is not None:
            raise failure
        return out

    def _open_chunks(self, count: int, out: bytearray) -> tuple[int, PayloadError | None]:
        """Open `count` non-final chunks from the buffer into `out`; stop at a failure."""
        with memoryview(self._buf) as source, memoryview(out) as sink:
            for k in range(count):
                with source[k * CHUNK_CT_SIZE : (k + 1) * CHUNK_CT_SIZE] as chunk:
                    if not self._open_into(chunk, sink[k * CHUNK_SIZE : (k + 1) * CHUNK_SIZE]):
                        released = bytes(sink[: k * CHUNK_SIZE])
                        return k, self._refuse(bytes(chunk), released)
        return count, None

    def _open_into(self, chunk: memoryview, sink: memoryview) -> bool:
        """Open a chunk that is not the last into `sink`; False if it does not verify."""
        assert self._aead is not None
        try:
            self._aead.decrypt_into(_chunk_nonce(self._counter, False), chunk, None, sink)
        except InvalidTag:
            return False
        self._counter += 1
        return True

    def _refuse(self, chunk: bytes, released: bytes) -> PayloadError:
        """The error for a non-final chunk that failed: damaged, or a final one too early."""
        final = self._try_open(chunk, last=True)
        if final is None:
            return PayloadError(self._bad_chunk(), released=released)
        self._done = True
        return PayloadError("data after the final chunk", released=released + final)

    def finish(self) -> bytes:
        """Signal end of input; return the final chunk's plaintext or raise."""
        if self._done:
            return b""
        if self._aead is None:
            raise HeaderError("payload nonce missing or short")
        chunk = bytes(self._buf)
        self._buf.clear()
        if len(chunk) < TAG_SIZE:
            raise PayloadError("final chunk missing or truncated")
        plain = self._try_open(chunk, last=True)
        if plain is None:
            if len(chunk) == CHUNK_CT_SIZE:
                unfinished = self._try_open(chunk, last=False)
                if unfinished is not None:
                    raise PayloadError("payload ends without a final chunk", released=unfinished)
            raise PayloadError(self._bad_chunk())
        if not plain and self._counter > 1:
            raise PayloadError("empty final chunk after other chunks")
        self._done = True
        return plain

    def _bad_chunk(self) -> str:
        return f"chunk {self._counter} failed authentication"

    def _try_open(self, chunk: bytes, last: bool) -> bytes | None:
        assert self._aead is not None
        try:
            plain = self._aead.decrypt(_chunk_nonce(self._counter, last), chunk, None)
        except InvalidTag:
            return None
        self._counter += 1
        return plain
