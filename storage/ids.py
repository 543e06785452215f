"""Random identifiers in Crockford base32 (no I, L, O, U)."""

from __future__ import annotations

import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def random_base32(length: int) -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(length))


def new_message_id() -> str:
    """26 characters: the file name, the POP3 UIDL, never reused."""
    return random_base32(26)


def new_mailbox_id() -> str:
    return "mbx-" + random_base32(20).lower()


def is_message_id(text: str) -> bool:
    return len(text) == 26 and all(c in CROCKFORD for c in text)
