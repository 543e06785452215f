"""IMAP wire formatting: strings, literals, flag lists and dates (RFC 3501 §4, §9)."""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CRLF = b"\r\n"
NIL = b"NIL"

# Bytes that cannot appear in a quoted string (they need a literal).
_UNQUOTABLE = frozenset(b"\r\n\0") | frozenset(range(0x80, 0x100))


def quoted(value: bytes) -> bytes:
    """A quoted string when possible, otherwise a literal."""
    if len(value) > 1024 or any(b in _UNQUOTABLE for b in value):
        return literal(value)
    escaped = value.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"' + escaped + b'"'


def literal(value: bytes) -> bytes:
    return b"{%d}\r\n" % len(value) + value


def nstring(value: bytes | str | None) -> bytes:
    if value is None:
        return NIL
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    return quoted(value)


def astring(value: str) -> bytes:
    """An atom when the text is a plain atom, otherwise a quoted string."""
    raw = value.encode("utf-8")
    if raw and all(0x21 <= b < 0x7F and b not in b'(){%*"\\]' for b in raw):
        return raw
    return quoted(raw)


def paren(items: Iterable[bytes]) -> bytes:
    return b"(" + b" ".join(items) + b")"


def flag_list(flags: Iterable[str]) -> bytes:
    return paren(f.encode() for f in sorted(flags))


def internal_date(epoch: float) -> bytes:
    """INTERNALDATE as a quoted date-time, in UTC."""
    t = time.gmtime(epoch)
    text = f'"{t.tm_mday:2d}-{MONTHS[t.tm_mon - 1]}-{t.tm_year:04d} {t.tm_hour:02d}:' + (
        f'{t.tm_min:02d}:{t.tm_sec:02d} +0000"'
    )
    return text.encode()


def parse_date(text: str) -> tuple[int, int, int] | None:
    """An IMAP date (d-Mon-yyyy) as (year, month, day), or None when malformed."""
    parts = text.split("-")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    day, month_name, year = int(parts[0]), parts[1].capitalize(), int(parts[2])
    if month_name not in MONTHS or len(parts[2]) != 4 or len(parts[0]) > 2:
        return None
    month = MONTHS.index(month_name) + 1
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return year, month, day


def day_of(epoch: float) -> tuple[int, int, int]:
    """The UTC calendar day of an internal date, for SINCE/BEFORE/ON."""
    t = time.gmtime(epoch)
    return t.tm_year, t.tm_mon, t.tm_mday
