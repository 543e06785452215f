"""Reading IMAP commands with their literals, on the connection POP3 uses too.

A command is read line by line; a line ending in `{n}` (synchronizing: the server
answers `+` first) or `{n+}` (LITERAL+, no answer) is followed by n octets and more of
the command. Over-long lines and over-large literals are consumed and reported as a
Rejected command, so the session answers BAD and goes on reading the next command.
Line reading, writing, STARTTLS and closing are gateway.retrieval's LineConnection.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..retrieval import ConnectionClosed, LineConnection, LineTooLong

MAX_LINE = 64 * 1024
MAX_LITERAL = 64 * 1024
MAX_COMMAND = 256 * 1024
_LITERAL_AT_END = re.compile(rb"\{(\d{1,10})(\+?)\}\r?\n\Z")
_TAG = re.compile(rb"([^\x00-\x20(){%*\"\\\]+\x7f-\xff]+)[ \r\n]")
_APPEND = re.compile(rb"[^ ]+ (?:UID )?APPEND ", re.IGNORECASE)

__all__ = ["ConnectionClosed", "ImapConnection", "LineTooLong", "Rejected", "tag_of"]


@dataclass
class Rejected:
    """A command refused before parsing; `tag` is None when none could be read."""

    tag: str | None
    status: str  # BAD or NO
    text: str


def tag_of(data: bytes) -> str | None:
    m = _TAG.match(data)
    return m.group(1).decode("ascii") if m else None


class ImapConnection(LineConnection):
    """An IMAP client connection: keeps its side open when the client half-closes."""

    def __init__(
        self, on_ready: Callable[[ImapConnection], None], *, hold_reading: bool = False
    ) -> None:
        # on_ready gets this very connection, as LineConnection would pass it.
        super().__init__(lambda _: on_ready(self), half_close=True, hold_reading=hold_reading)

    async def read_line(self, limit: int = MAX_LINE) -> bytes:
        """One line including its ending; LineTooLong once an over-long line is consumed."""
        return await super().read_line(limit)

    async def read_command(self) -> bytes | Rejected:
        """A complete command with its literals, or a Rejected one (already consumed)."""
        buf = bytearray()
        problem: str | None = None
        while True:
            try:
                line = await self.read_line()
            except LineTooLong as exc:
                head = bytes(buf) or exc.head
                return Rejected(tag_of(head), "BAD", "command line too long")
            if problem is None:
                buf += line
            m = _LITERAL_AT_END.search(line)
            if m is None:
                break
            size, plus = int(m.group(1)), bool(m.group(2))
            if problem is None:
                problem = self._literal_problem(buf, size)
            if problem is not None and not plus:
                # The client waits for "+" and abandons the command on our answer.
                break
            if not plus:
                await self.send(b"+ Ready for literal data\r\n")
            if problem is None:
                buf += await self.read_exactly(size)
            else:
                await self._skip(size)
        if problem is None:
            return bytes(buf)
        status = "NO" if _APPEND.match(buf) else "BAD"
        return Rejected(tag_of(bytes(buf)), status, problem)

    @staticmethod
    def _literal_problem(buf: bytearray, size: int) -> str | None:
        if _APPEND.match(buf):
            return "[CANNOT] APPEND is not supported: this is a read-only archive mailbox"
        if size > MAX_LITERAL or len(buf) + size > MAX_COMMAND:
            return f"literal too large (at most {MAX_LITERAL} octets)"
        return None

    async def _skip(self, size: int) -> None:
        while size > 0:
            step = min(size, 64 * 1024)
            await self.read_exactly(step)
            size -= step
