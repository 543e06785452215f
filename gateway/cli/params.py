"""Parameter types shared by several commands."""

from __future__ import annotations

import click

from storage import sizes
from storage.models import PROTOCOLS


class ByteSize(click.ParamType):
    """A byte count: 1048576, 512K, 100MiB, 1.5G, 2TiB (binary units, storage/sizes.py)."""

    name = "BYTES"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        try:
            return sizes.parse_size(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a size (examples: 0, 1048576, 500M, 10GiB)", param, ctx)


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
