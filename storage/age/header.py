"""age v1 header: recipient stanzas and the header MAC (age-encryption.org/v1).

Parsing is strict: canonical unpadded base64, 64-column stanza bodies ending in a
short line, arguments of visible ASCII, a MAC line of exactly 43 base64 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import HeaderError, MacError

VERSION_LINE = b"age-encryption.org/v1\n"
_VERSION_PREFIX = b"age-encryption.org/"
MAX_HEADER_BYTES = 1 << 20
_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def b64encode(data: bytes) -> bytes:
    """Unpadded standard base64."""
    return base64.b64encode(data).rstrip(b"=")


def b64decode(text: bytes) -> bytes:
    """Decode canonical unpadded base64; anything else raises HeaderError."""
    if any(c not in _B64_CHARS for c in text) or len(text) % 4 == 1:
        raise HeaderError("invalid base64")
    data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    if b64encode(data) != text:
        raise HeaderError("non-canonical base64")
    return data


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: its arguments and its raw (decoded) body."""

    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        out = b"-> " + " ".join(self.args).encode("ascii") + b"\n"
        encoded = b64encode(self.body)
        for i in range(0, len(encoded), 64):
            out += encoded[i : i + 64] + b"\n"
        if len(encoded) % 64 == 0:
            out += b"\n"
        return out


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes  # the header bytes the MAC covers, up to and including "---"
    length: int  # total header length in bytes, including the MAC line


def header_mac(file_key: bytes, mac_input: bytes) -> bytes:
    key = hkdf_sha256(file_key, b"", b"header")
    return hmac.new(key, mac_input, hashlib.sha256).digest()


def encode_header(stanzas: list[Stanza], file_key: bytes) -> bytes:
    """Serialize stanzas and append the MAC computed with `file_key`."""
    mac_input = VERSION_LINE + b"".join(s.encode() for s in stanzas) + b"---"
    return mac_input + b" " + b64encode(header_mac(file_key, mac_input)) + b"\n"


def verify_mac(header: Header, file_key: bytes) -> None:
    if not hmac.compare_digest(header_mac(file_key, header.mac_input), header.mac):
        raise MacError("header MAC mismatch")


def _parse_args(line: bytes) -> tuple[str, ...]:
    parts = line[3:].split(b" ")
    if not parts or any(not p for p in parts):
        raise HeaderError("empty stanza argument")
    for part in parts:
        if any(c < 0x21 or c > 0x7E for c in part):
            raise HeaderError("invalid character in stanza argument")
    return tuple(p.decode("ascii") for p in parts)


def find_header_end(buf: bytes) -> int | None:
    """Return the header length if `buf` holds a complete header, else None.

    Raises HeaderError early when the header cannot become valid.
    """
    pos = 0
    while True:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            if len(buf) > MAX_HEADER_BYTES:
                raise HeaderError("header too long")
            return None
        if buf.startswith(b"--- ", pos) or buf[pos : pos + 3] == b"---":
            return nl + 1
        pos = nl + 1


def parse_header(data: bytes) -> Header:
    """Parse a complete header (as delimited by find_header_end)."""
    lines = data.split(b"\n")
    if lines[-1] != b"":
        raise HeaderError("header does not end with a newline")
    lines = lines[:-1]
    first = lines[0] + b"\n"
    if first != VERSION_LINE:
        if first.startswith(_VERSION_PREFIX):
            raise HeaderError("unsupported age version")
        raise HeaderError("not an age file")
    stanzas: list[Stanza] = []
    i = 1
    while i < len(lines) and lines[i].startswith(b"-> "):
        args = _parse_args(lines[i])
        i += 1
        body = b""
        while True:
            if i >= len(lines) - 1:
                raise HeaderError("stanza body not terminated")
            chunk = lines[i]
            i += 1
            if len(chunk) > 64:
                raise HeaderError("stanza line too long")
            body += chunk
            if len(chunk) < 64:
                break
        stanzas.append(Stanza(args, b64decode(body)))
    if not stanzas:
        raise HeaderError("no recipient stanzas")
    if i != len(lines) - 1:
        raise HeaderError("unexpected header line")
    mac_line = lines[i]
    if not mac_line.startswith(b"--- ") or len(mac_line) != 47:
        raise HeaderError("malformed MAC line")
    mac = b64decode(mac_line[4:])
    mac_input = data[: len(data) - len(mac_line) - 1] + b"---"
    return Header(tuple(stanzas), mac, mac_input, len(data))
