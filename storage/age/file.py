"""Whole age files: an incremental writer and an incremental reader.

`AgeWriter` builds the header from recipients (plus any extra stanzas, such as the
gateway's bind stanza) and streams the payload. `AgeReader` buffers only the header,
unwraps the file key with the given identities, checks the MAC, and then streams
authenticated plaintext.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .errors import HeaderError, NoMatchError
from .header import Header, Stanza, encode_header, find_header_end, parse_header, verify_mac
from .recipients import Identity, Recipient, new_file_key
from .stream import StreamDecryptor, StreamEncryptor


class AgeWriter:
    """Encrypt to recipients. `header()` first, then `update()` per piece, then `finish()`."""

    def __init__(self, recipients: Iterable[Recipient], extra: Iterable[Stanza] = ()) -> None:
        file_key = new_file_key()
        stanzas = [r.wrap(file_key) for r in recipients] + list(extra)
        if not stanzas:
            raise ValueError("at least one recipient is required")
        self._header = encode_header(stanzas, file_key)
        self._stream = StreamEncryptor(file_key)

    def header(self) -> bytes:
        return self._header + self._stream.start()

    def update(self, data: bytes) -> bytes | bytearray:
        return self._stream.update(data)

    def finish(self) -> bytes | bytearray:
        return self._stream.finish()


HeaderCheck = Callable[[Header], None]


class AgeReader:
    """Decrypt with identities. Feed ciphertext in pieces; plaintext comes out verified.

    `check_header` (optional) is called with the parsed header after the MAC verified and
    before any payload is decrypted: the gateway uses it to validate its bind stanza.
    """

    def __init__(self, identities: Iterable[Identity], check_header: HeaderCheck | None = None):
        self._identities = list(identities)
        self._check_header = check_header
        self._pending = bytearray()
        self._stream: StreamDecryptor | None = None
        self.header: Header | None = None

    def update(self, data: bytes) -> bytes | bytearray:
        if self._stream is not None:
            return self._stream.update(data)
        self._pending += data
        end = find_header_end(bytes(self._pending))
        if end is None:
            return b""
        header = parse_header(bytes(self._pending[:end]))
        file_key = self._unwrap(header)
        verify_mac(header, file_key)
        if self._check_header is not None:
            self._check_header(header)
        self.header = header
        self._stream = StreamDecryptor(file_key)
        rest = bytes(self._pending[end:])
        self._pending.clear()
        return self._stream.update(rest)

    def finish(self) -> bytes:
        if self._stream is None:
            raise HeaderError("file ends inside the header")
        return self._stream.finish()

    def _unwrap(self, header: Header) -> bytes:
        for identity in self._identities:
            file_key = identity.unwrap(header.stanzas)
            if file_key is not None:
                if len(file_key) != 16:
                    raise HeaderError("file key has a wrong length")
                return file_key
        raise NoMatchError("no identity matches any recipient stanza")


def decrypt_bytes(data: bytes, identities: Iterable[Identity]) -> bytes:
    reader = AgeReader(identities)
    return bytes(reader.update(data)) + reader.finish()


def encrypt_bytes(data: bytes, recipients: Iterable[Recipient]) -> bytes:
    writer = AgeWriter(recipients)
    return writer.header() + bytes(writer.update(data)) + writer.finish()
