"""Rules every store implementation shares for the console's signing keys
(contract: Sessions.signing_key)."""

from __future__ import annotations

import re

SIGNING_KEY_BYTES = 32
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")


def check_signing_key_name(name: str) -> None:
    """ValueError unless `name` is 1-64 of a-z, 0-9, '.', '-', starting alphanumeric.

    Names are constants in the code, so a bad one is a programming error, not input."""
    if not _NAME_RE.match(name):
        raise ValueError("a signing key name is 1-64 characters of a-z, 0-9, '.' and '-'")
