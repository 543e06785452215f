"""Transport glue for one IMAP connection: bounded command reads with literals, STARTTLS.

A command is read line by line; a line ending in `{n}` (synchronizing: the server
answers `+` first) or `{n+}` (LITERAL+, no answer) is followed by n octets and more of
the command. Over-long lines and over-large literals are consumed and reported as a
Rejected command, so the session answers BAD and goes on reading the next command.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass

MAX_LINE = 64 * 1024
MAX_LITERAL = 64 * 1024
MAX_COMMAND = 256 * 1024
_LITERAL_AT_END = re.compile(rb"\{(\d{1,10})(\+?)\}\r?\n\Z")
_TAG = re.compile(rb"([^\x00-\x20(){%*\"\\\]+\x7f-\xff]+)[ \r\n]")
_APPEND = re.compile(rb"[^ ]+ (?:UID )?APPEND ", re.IGNORECASE)


class ConnectionClosed(Exception):
    """The peer closed the connection or it broke."""


class LineTooLong(Exception):
    def __init__(self, head: bytes) -> None:
        super().__init__("line too long")
        self.head = head


@dataclass
class Rejected:
    """A command refused before parsing; `tag` is None when none could be read."""

    tag: str | None
    status: str  # BAD or NO
    text: str


def tag_of(data: bytes) -> str | None:
    m = _TAG.match(data)
    return m.group(1).decode("ascii") if m else None


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else ""
        self.tls_active = writer.get_extra_info("ssl_object") is not None

    # --- reading -----------------------------------------------------------------------
    async def read_line(self, limit: int = MAX_LINE) -> bytes:
        """One line including its ending; LineTooLong once an over-long line is consumed."""
        try:
            line = await self.reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as exc:
            head = await self.reader.readexactly(exc.consumed)
            await self._discard_line()
            raise LineTooLong(head[:200]) from None
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise ConnectionClosed() from exc
        if len(line) > limit:
            raise LineTooLong(line[:200])
        return line

    async def _discard_line(self) -> None:
        while True:
            try:
                await self.reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self.reader.readexactly(exc.consumed)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                raise ConnectionClosed() from exc

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
                buf += await self._read_exactly(size)
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

    async def _read_exactly(self, size: int) -> bytes:
        try:
            return await self.reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise ConnectionClosed() from exc

    async def _skip(self, size: int) -> None:
        while size > 0:
            step = min(size, 64 * 1024)
            await self._read_exactly(step)
            size -= step

    # --- writing -----------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise ConnectionClosed()
        self.writer.write(data)

    async def drain(self) -> None:
        try:
            await self.writer.drain()
        except ConnectionError as exc:
            raise ConnectionClosed() from exc

    async def send(self, data: bytes) -> None:
        self.write(data)
        await self.drain()

    # --- TLS and closing -------------------------------------------------------------------
    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Upgrade to TLS. Bytes the client sent before the handshake are thrown away.

        Nothing awaits between clearing the buffer and the transport switching to the
        TLS protocol, so cleartext pipelined after STARTTLS is never read as protected.
        """
        await self.drain()
        self.reader._buffer.clear()  # noqa: SLF001 (no public API to drop read-ahead)
        try:
            await self.writer.start_tls(context)
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            raise ConnectionClosed() from exc
        self.tls_active = True

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()

    def abort(self) -> None:
        """Drop the connection at once, discarding unsent data (used mid-literal)."""
        transport = self.writer.transport
        if transport is not None:
            transport.abort()

    async def wait_closed(self) -> None:
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError, OSError):
            pass
