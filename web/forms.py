"""Parsing what admins type: sizes, networks, addresses."""

from __future__ import annotations

import ipaddress

from babel.numbers import format_decimal

from storage import sizes

from .i18n import _, current_language


class FieldError(ValueError):
    """A value the admin typed is wrong; str() is a translated message for the field."""


def size_help() -> str:
    return _("Binary units: KiB, MiB, GiB, TiB (GB is read as GiB).")


def parse_size(text: str) -> int:
    """Bytes from "0", "500 MiB", "10G", "1,5 GiB" (storage/sizes.py; 0 = unlimited)."""
    if not text.strip():
        return 0
    try:
        return sizes.parse_size(text)
    except ValueError:
        raise FieldError(
            _("Enter a size such as 500 MiB or 10 GiB (0 for unlimited).") + " " + size_help()
        ) from None


def size_input(size: int) -> str:
    """A quota as the admin would type it back, in the units the lists show."""
    if size == 0:
        return "0"
    number, unit = sizes.exact(size)
    return f"{format_decimal(number, '0.##', locale=current_language())} {unit}"


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
