"""Sizes as admins type them and as every face shows them: binary (IEC) units.

One rule for the console, the API's callers and the CLI: 1 KiB = 1024 bytes, up to TiB.
"KB", "MB", "GB", "TB" and the bare "K"/"M"/"G"/"T" are read as KiB…TiB, because that
is what the gateway shows back; "1.5 GiB" and "1,5 GiB" are both one and a half GiB.
"""

from __future__ import annotations

import re

UNITS: tuple[tuple[str, int], ...] = (
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
)
_FACTORS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(?:([kmgt])(?:i?b)?|b?)\s*$", re.IGNORECASE)
MAX_SIZE = 1 << 60  # far above any disk; keeps a typo from becoming a huge integer


def parse_size(text: str) -> int:
    """Bytes from "0", "1048576", "500M", "500 MB", "1.5 GiB", "2 TiB"; ValueError if not."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r}")
    number = float(match.group(1).replace(",", "."))
    size = round(number * _FACTORS[(match.group(2) or "").lower()])
    if size > MAX_SIZE:
        raise ValueError(f"too large: {text!r}")
    return size


def scaled(size: int) -> tuple[float, str]:
    """(number, unit) in the largest unit the size reaches: (1.5, "GiB"), (512, "B")."""
    for unit, factor in UNITS:
        if size >= factor:
            return size / factor, unit
    return float(size), "B"


def exact(size: int) -> tuple[float, str]:
    """(number, unit) that gives back exactly `size` with at most two decimals, in the
    largest such unit: 1.5 GiB stays (1.5, "GiB"); 1 GiB + 1 byte is in bytes."""
    for unit, factor in UNITS:
        if size >= factor and (size * 100) % factor == 0:
            return size / factor, unit
    return float(size), "B"


def size_text(size: int, exact_value: bool = False) -> str:
    """ "1.5 GiB", "1 GiB", "512 B": at most two decimals, none when they are zeros."""
    number, unit = exact(size) if exact_value else scaled(size)
    digits = f"{number:.2f}".rstrip("0").rstrip(".")
    return f"{digits} {unit}"
