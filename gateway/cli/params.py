"""Parameter types shared by several commands."""

from __future__ import annotations

import re

import click

from storage.models import PROTOCOLS

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class ByteSize(click.ParamType):
    """A byte count: 1048576, 512K, 100M, 10G, 2T (binary units); 0 means unlimited."""

    name = "BYTES"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE_RE.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a size (examples: 0, 1048576, 500M, 10G)", param, ctx)
        return int(match.group(1)) * _UNITS[match.group(2).upper()]


class ProtocolList(click.ParamType):
    """Comma-separated retrieval protocols (pop3, imap), or `none`."""

    name = "LIST"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip().lower()
        if text in ("", "none"):
            return ()
        chosen = tuple(sorted({p.strip() for p in text.split(",") if p.strip()}))
        unknown = [p for p in chosen if p not in PROTOCOLS]
        if unknown:
            self.fail(
                f"unknown protocol {unknown[0]!r}; choose from {', '.join(PROTOCOLS)} or none",
                param,
                ctx,
            )
        return chosen


BYTE_SIZE = ByteSize()
PROTOCOL_LIST = ProtocolList()
