"""Transport glue for one POP3 connection: bounded line reads, flow-controlled writes, STLS.

A hand-written asyncio.Protocol (rather than StreamReader) so that the STLS upgrade can
discard, atomically with the switch to TLS, every byte the client pipelined after the
STLS command: such bytes arrived in clear and must never be read as if protected by TLS.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

# Stop reading from the socket while this many unread bytes are buffered.
READ_BUFFER_LIMIT = 64 * 1024
# Let the transport buffer this much outgoing data before drain() waits.
WRITE_BUFFER_HIGH = 256 * 1024


class ConnectionLost(Exception):
    """The peer closed the connection or it broke."""


class LineTooLong(Exception):
    """A line exceeded the limit; it was discarded up to and including its end."""


class Pop3Connection(asyncio.Protocol):
    """One client connection; `on_ready(conn)` is called once the transport exists."""

    def __init__(self, on_ready: Callable[[Pop3Connection], None]) -> None:
        self._on_ready = on_ready
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._discarding = False  # inside an over-long line, dropping bytes until LF
        self._eof = False
        self._read_paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self.tls_active = False

    # --- asyncio.Protocol callbacks --------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.tls_active = transport.get_extra_info("ssl_object") is not None
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        self._on_ready(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > READ_BUFFER_LIMIT and not self._read_paused:
            self._read_paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake_reader()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_exception(ConnectionLost())
            self._drain_waiter.exception()  # mark retrieved: nobody may be waiting

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def _wake_reader(self) -> None:
        if self._data_waiter is not None and not self._data_waiter.done():
            self._data_waiter.set_result(None)

    # --- reading -----------------------------------------------------------------------
    @property
    def peer_ip(self) -> str:
        peer = self.transport.get_extra_info("peername") if self.transport else None
        return str(peer[0]) if peer else ""

    async def readline(self, limit: int) -> bytes:
        """The next line without its CRLF (or bare LF); `limit` counts the line ending too.

        Raises LineTooLong once an over-long line has been consumed entirely (reading
        never holds more than READ_BUFFER_LIMIT bytes), ConnectionLost at end of stream.
        """
        while True:
            end = self._buffer.find(b"\n")
            if self._discarding:
                if end < 0:
                    self._buffer.clear()
                else:
                    del self._buffer[: end + 1]
                    self._discarding = False
                    raise LineTooLong()
            elif 0 <= end < limit:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            elif end >= limit or len(self._buffer) >= limit:
                self._discarding = True
                continue
            await self._wait_for_data()

    async def _wait_for_data(self) -> None:
        if self._eof:
            raise ConnectionLost()
        if self._read_paused:
            self._read_paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]
        self._data_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._data_waiter
        finally:
            self._data_waiter = None

    # --- writing -----------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionLost()
        self.transport.write(data)

    async def drain(self) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionLost()
        if not self._write_paused:
            return
        self._drain_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None

    # --- TLS and closing ---------------------------------------------------------------
    async def start_tls(self, context: ssl.SSLContext, handshake_timeout: float) -> None:
        """Upgrade to TLS; bytes received before the handshake are thrown away."""
        await self.drain()
        loop = asyncio.get_running_loop()
        # No await between clearing the buffer and start_tls() taking over the socket:
        # start_tls pauses reading and installs its TLS protocol before it first yields.
        self._buffer.clear()
        self._discarding = False
        self._read_paused = False
        self._write_paused = False
        transport = await loop.start_tls(
            self.transport,  # type: ignore[arg-type]
            self,
            context,
            server_side=True,
            ssl_handshake_timeout=handshake_timeout,
        )
        if transport is None:
            raise ConnectionLost()
        self.transport = transport  # type: ignore[assignment]
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        self.tls_active = True

    def close(self) -> None:
        """Flush what was written, then close."""
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once, discarding unsent data."""
        if self.transport is not None:
            self.transport.abort()
