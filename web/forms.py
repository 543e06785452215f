"""Parsing what admins type: sizes, networks, addresses."""

from __future__ import annotations

import ipaddress
import re

from .i18n import _

_SIZE_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class FieldError(ValueError):
    """A value the admin typed is wrong; str() is a translated message for the field."""


def parse_size(text: str) -> int:
    """Bytes from "0", "500 MB", "10G", "1.5 GiB" (binary units; 0 = unlimited)."""
    if not text.strip():
        return 0
    match = _SIZE_RE.match(text)
    if not match:
        raise FieldError(_("Enter a size such as 500 MB or 10 GB (0 for unlimited)."))
    number = float(match.group(1).replace(",", "."))
    unit = match.group(2).lower()
    if not unit and match.group(3).lower() not in ("", "b"):
        raise FieldError(_("Enter a size such as 500 MB or 10 GB (0 for unlimited)."))
    return int(number * _FACTORS[unit])


def size_input(size: int) -> str:
    """A quota as the admin would type it back."""
    if size == 0:
        return "0"
    for unit, factor in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor} {unit}"
    return str(size)


def parse_networks(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        try:
            out.append(str(ipaddress.ip_network(line, strict=False)))
        except ValueError:
            raise FieldError(
                _("%(value)s is not a network. Use CIDR notation such as 192.0.2.0/24.")
                % {"value": line[:60]}
            ) from None
    return out
