"""Mailbox passphrases (DESIGN §2): 30 Crockford base32 characters, 150 bits.

Shown as six groups of five joined by hyphens. Input is forgiving: case-insensitive,
hyphens and spaces ignored, O read as 0 and I/L as 1. A passphrase is never stored.
"""

from __future__ import annotations

from .ids import CROCKFORD, random_base32

LENGTH = 30
GROUP = 5
_FORGIVE = str.maketrans({"O": "0", "I": "1", "L": "1"})


class InvalidPassphrase(ValueError):
    """Not shaped like a gateway passphrase (the message never echoes it)."""


def generate() -> str:
    raw = random_base32(LENGTH)
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalize(text: str) -> bytes:
    """Canonical bytes fed to Argon2id; raises InvalidPassphrase for a malformed one."""
    cleaned = "".join(text.split()).replace("-", "").upper().translate(_FORGIVE)
    if len(cleaned) != LENGTH or any(c not in CROCKFORD for c in cleaned):
        raise InvalidPassphrase("a passphrase is 30 characters of base32 (hyphens optional)")
    return cleaned.encode("ascii")


def looks_valid(text: str) -> bool:
    try:
        normalize(text)
    except InvalidPassphrase:
        return False
    return True
