"""Recognise journal reports from the top-level header section, while streaming.

* Exchange (2007 and later, Exchange Online) envelope journal reports carry the header
  ``X-MS-Journal-Report`` (often with an empty value).
* Exchange 2003 reports carry ``Content-Identifier: ExJournalReport``.

Only the header section (up to the first empty line) is looked at, and at most
`MAX_HEADER_BYTES` of it; the message is stored unchanged either way.
"""

from __future__ import annotations

EXCHANGE = "exchange"
EXCHANGE_2003 = "exchange2003"
NONE = "none"
MAX_HEADER_BYTES = 256 * 1024


class HeaderSniffer:
    """Collects the canonical (CRLF) header section from message chunks."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.complete = False
        self.kind = NONE
        self.header = b""  # the header section seen (at most MAX_HEADER_BYTES), for robots

    def feed(self, data: bytes) -> None:
        if self.complete or not data:
            return
        start = max(len(self._buf) - 3, 0)
        self._buf += data[: MAX_HEADER_BYTES + 4 - len(self._buf)]
        if self._buf.startswith(b"\r\n"):
            end = 0
        else:
            end = self._buf.find(b"\r\n\r\n", start)
        if end >= 0:
            self._finish(bytes(self._buf[: end + 2]))
        elif len(self._buf) >= MAX_HEADER_BYTES:
            self._finish(bytes(self._buf[:MAX_HEADER_BYTES]))

    def close(self) -> str:
        """End of message: classify whatever header text was seen."""
        if not self.complete:
            self._finish(bytes(self._buf))
        return self.kind

    def _finish(self, header: bytes) -> None:
        self.complete = True
        self._buf = bytearray()
        self.header = header
        self.kind = classify(header)


def classify(header: bytes) -> str:
    """Journal kind of a header section (CRLF lines, folded lines allowed)."""
    for name, value in _fields(header):
        if name == b"x-ms-journal-report":
            return EXCHANGE
        if name == b"content-identifier" and value.strip().lower() == b"exjournalreport":
            return EXCHANGE_2003
    return NONE


def _fields(header: bytes) -> list[tuple[bytes, bytes]]:
    fields: list[tuple[bytes, bytes]] = []
    for line in header.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + line)
            continue
        name, sep, value = line.partition(b":")
        if sep:
            fields.append((name.strip().lower(), value))
    return fields
