"""age STREAM payload: ChaCha20-Poly1305 over 64 KiB chunks, push-based.

Both directions are incremental: feed bytes as they arrive, get bytes out, memory
bounded by one chunk. The decryptor releases a chunk only after its tag verified.
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
        self._buf = bytearray()
        self._counter = 0

    def start(self) -> bytes:
        return self._nonce

    def update(self, data: bytes) -> bytes:
        """Feed plaintext; return ciphertext of every chunk now known not to be last."""
        self._buf += data
        if len(self._buf) <= CHUNK_SIZE:
            return b""
        out = bytearray()
        # Keep at least one byte back so the final chunk is never empty (unless all is).
        full = (len(self._buf) - 1) // CHUNK_SIZE * CHUNK_SIZE
        view = memoryview(self._buf)
        for start in range(0, full, CHUNK_SIZE):
            out += self._seal(view[start : start + CHUNK_SIZE], last=False)
        view.release()
        del self._buf[:full]
        return bytes(out)

    def finish(self) -> bytes:
        return self._seal(bytes(self._buf), last=True)

    def _seal(self, chunk: bytes | memoryview, last: bool) -> bytes:
        sealed = self._aead.encrypt(_chunk_nonce(self._counter, last), bytes(chunk), None)
        self._counter += 1
        return sealed


class StreamDecryptor:
    """Decrypts a payload (nonce first) fed in pieces; raises PayloadError on any fault."""

    def __init__(self, file_key: bytes) -> None:
        self._file_key = file_key
        self._aead: ChaCha20Poly1305 | None = None
        self._buf = bytearray()
        self._counter = 0
        self._done = False

    def update(self, data: bytes) -> bytes:
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
        out = bytearray()
        # A full chunk followed by more bytes should not be the last one; if it
        # authenticates only as last, it is released and the trailing bytes refused.
        while len(self._buf) > CHUNK_CT_SIZE:
            chunk = bytes(self._buf[:CHUNK_CT_SIZE])
            del self._buf[:CHUNK_CT_SIZE]
            plain = self._try_open(chunk, last=False)
            if plain is None:
                final = self._try_open(chunk, last=True)
                if final is None:
                    raise PayloadError(self._bad_chunk(), released=bytes(out))
                self._done = True
                raise PayloadError("data after the final chunk", released=bytes(out) + final)
            out += plain
        return bytes(out)

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
