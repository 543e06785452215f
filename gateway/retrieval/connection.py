"""Transport glue for one POP3 or IMAP connection: bounded reads, flow-controlled writes, TLS.

A hand-written asyncio.Protocol (rather than StreamReader) so that the STLS/STARTTLS
upgrade can discard, atomically with the switch to TLS, every byte the client pipelined
after the command: such bytes arrived in clear and must never be read as if protected
by TLS. Reading never holds more than about READ_BUFFER_LIMIT unread bytes.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

# Stop reading from the socket while this many unread bytes are buffered.
READ_BUFFER_LIMIT = 64 * 1024
# Let the transport buffer this much outgoing data before drain() waits.
WRITE_BUFFER_HIGH = 256 * 1024
# How much of an over-long line LineTooLong keeps (enough to find an IMAP tag).
HEAD_KEPT = 200


class ConnectionClosed(Exception):
    """The peer closed the connection or it broke (also: the TLS handshake failed)."""


class LineTooLong(Exception):
    """A line exceeded the limit; it was discarded up to and including its end."""

    def __init__(self, head: bytes = b"") -> None:
        super().__init__("line too long")
        self.head = head  # the first HEAD_KEPT bytes of the line


class LineConnection(asyncio.Protocol):
    """One client connection; `on_ready(conn)` is called once the transport exists.

    `half_close`: when the client shuts down its sending side of a plain TCP connection,
    keep ours open so that commands it pipelined before still get their answers (TLS
    cannot half-close; over TLS the connection always closes at the client's EOF).

    `hold_reading`: do not read from the socket until release_reading() or start_tls(),
    so that a PROXY protocol header can be read from the socket first (opening.py).
    """

    def __init__(
        self,
        on_ready: Callable[[LineConnection], None],
        half_close: bool = False,
        *,
        hold_reading: bool = False,
    ) -> None:
        self._on_ready = on_ready
        self._half_close = half_close
        self._hold_reading = hold_reading
        self.transport: asyncio.Transport | None = None
        # The client's address, for throttling, audit and logs: the socket's peer, or
        # the address a PROXY header named (set by opening.py before the greeting).
        self.client_ip = ""
        self._buffer = bytearray()
        self._discarding = False  # inside an over-long line, dropping bytes until LF
        self._head = b""  # start of the over-long line being discarded
        self._eof = False
        self._read_paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] | None = None
        self.tls_active = False

    # --- asyncio.Protocol callbacks --------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self._hold_reading:  # before the transport's first read, which is scheduled
            transport.pause_reading()
        peer = transport.get_extra_info("peername")
        self.client_ip = str(peer[0]) if peer else ""
        self.tls_active = transport.get_extra_info("ssl_object") is not None
        self._closed = asyncio.get_running_loop().create_future()
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        self._on_ready(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > READ_BUFFER_LIMIT and not self._read_paused:
            assert self.transport is not None  # data comes only after connection_made
            self._read_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return self._half_close and not self.tls_active

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake_reader()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_exception(ConnectionClosed())
            self._drain_waiter.exception()  # mark retrieved: nobody may be waiting
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

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
    def release_reading(self) -> None:
        """Start reading from the socket (after `hold_reading`)."""
        if self._hold_reading:
            self._hold_reading = False
            if self.transport is not None and not self._read_paused:
                self.transport.resume_reading()

    async def read_line(self, limit: int) -> bytes:
        """The next line with its ending (LF, usually after CR); `limit` counts the ending.

        Raises LineTooLong once an over-long line has been consumed entirely,
        ConnectionClosed at the end of the stream (a partial last line is dropped).
        """
        while True:
            end = self._buffer.find(b"\n")
            if self._discarding:
                if end < 0:
                    self._buffer.clear()
                else:
                    del self._buffer[: end + 1]
                    self._discarding = False
                    head, self._head = self._head, b""
                    raise LineTooLong(head)
            elif 0 <= end < limit:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            elif end >= limit or len(self._buffer) >= limit:
                self._discarding = True
                self._head = bytes(self._buffer[:HEAD_KEPT])
                continue
            await self._wait_for_data()

    async def read_exactly(self, size: int) -> bytes:
        """The next `size` bytes; ConnectionClosed if the stream ends before."""
        while len(self._buffer) < size:
            await self._wait_for_data()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def _wait_for_data(self) -> None:
        if self._eof:
            raise ConnectionClosed()
        if self._read_paused:
            assert self.transport is not None  # reading was paused on it
            self._read_paused = False
            self.transport.resume_reading()
        self._data_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._data_waiter
        finally:
            self._data_waiter = None

    # --- writing -----------------------------------------------------------------------
    def write(self, data: bytes | memoryview) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionClosed()
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait until the transport's buffer is below WRITE_BUFFER_HIGH again."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionClosed()
        if not self._write_paused:
            return
        self._drain_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None

    async def send(self, data: bytes) -> None:
        self.write(data)
        await self.drain()

    # --- TLS and closing ---------------------------------------------------------------
    async def start_tls(
        self, context: ssl.SSLContext, handshake_timeout: float | None = None
    ) -> None:
        """Upgrade to TLS; bytes received before the handshake are thrown away.

        `handshake_timeout` None is asyncio's default (60 s). A failed or timed-out
        handshake raises ConnectionClosed, with the cause (ssl.SSLError, TimeoutError,
        ConnectionError...) as its __cause__.
        """
        await self.drain()
        assert self.transport is not None, "start_tls on a connection never made"
        loop = asyncio.get_running_loop()
        # No await between clearing the buffer and start_tls() taking over the socket:
        # start_tls pauses reading and installs its TLS protocol before it first yields.
        self._buffer.clear()
        self._discarding = False
        self._head = b""
        self._read_paused = False
        self._write_paused = False
        self._hold_reading = False  # start_tls resumes reading, for the TLS layer
        try:
            transport = await loop.start_tls(
                self.transport,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=handshake_timeout,
            )
        except OSError as exc:  # ssl.SSLError, TimeoutError and ConnectionError included
            raise ConnectionClosed() from exc
        if transport is None:
            raise ConnectionClosed()
        self.transport = transport
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

    async def wait_closed(self) -> None:
        """Wait until the connection is gone (after close() or abort())."""
        if self._closed is not None:
            await asyncio.shield(self._closed)
