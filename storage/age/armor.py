"""age ASCII armor: strict PEM (RFC 7468 §3) with the label "AGE ENCRYPTED FILE".

Only whitespace before and after the block is tolerated; lines are 64 columns, the
last one shorter or equal; base64 must be canonical; LF or CRLF line endings.
"""

from __future__ import annotations

import base64
import binascii

from .errors import AgeError

BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
END = "-----END AGE ENCRYPTED FILE-----"
COLUMNS = 64


class ArmorError(AgeError):
    """The ASCII armor is malformed."""


def is_armored(data: bytes) -> bool:
    return data.lstrip().startswith(BEGIN.encode())


def dearmor(data: bytes) -> bytes:
    """Return the binary age file inside an armored one, or raise ArmorError."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ArmorError("armor is not ASCII") from None
    text = text.strip(" \t\r\n")
    lines = text.split("\n")
    crlf = lines[0].endswith("\r")
    if crlf:
        if not all(line.endswith("\r") for line in lines[:-1]):
            raise ArmorError("mixed line endings")
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if len(lines) < 2 or lines[0] != BEGIN or lines[-1] != END:
        raise ArmorError("missing armor begin or end line")
    body = lines[1:-1]
    if not body:
        return b""
    if any(len(line) != COLUMNS for line in body[:-1]) or not 0 < len(body[-1]) <= COLUMNS:
        raise ArmorError("armor lines must be 64 columns, the last one at most 64")
    encoded = "".join(body)
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ArmorError("invalid base64 in armor") from None
    if base64.b64encode(decoded).decode() != encoded:
        raise ArmorError("non-canonical base64 in armor")
    return decoded


def armor(data: bytes) -> bytes:
    encoded = base64.b64encode(data).decode()
    lines = [encoded[i : i + COLUMNS] for i in range(0, len(encoded), COLUMNS)]
    return ("\n".join([BEGIN, *lines, END]) + "\n").encode()
