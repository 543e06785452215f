"""The PROXY protocol (v1 and v2): a load balancer's header naming the real client.

HAProxy (`send-proxy` / `send-proxy-v2`) opens every connection to a backend with one
header saying whom it relays. SMTP reads it through aiosmtpd itself; POP3 and IMAP read
it here, with aiosmtpd's maintained parser (`aiosmtpd.proxy_protocol.get_proxy`).

The header is read from the socket directly while the transport is paused, and never
past its last byte: on an implicit-TLS listener the client's TLS ClientHello often
arrives in the same TCP segment (HAProxy sends the header with MSG_MORE), and those bytes
must reach the TLS handshake untouched, not a buffer that the TLS upgrade discards.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
from collections.abc import Sequence

from aiosmtpd.proxy_protocol import V2_CMD, ProxyData, get_proxy

# Seconds a client (the load balancer) may take to send the whole header. SMTP too.
PROXY_TIMEOUT = 10.0
# A v1 header is at most 107 bytes, CRLF included (the PROXY protocol specification).
V1_MAX_LENGTH = 107

__all__ = [
    "PROXY_TIMEOUT",
    "ProxyHeaderRefused",
    "TrustedProxies",
    "read_proxy_header",
    "trusted_proxies",
    "warn_if_anyone_may_proxy",
]
log = logging.getLogger("gateway.proxy")


class ProxyHeaderRefused(Exception):
    """No valid header: missing, malformed, too slow, or the connection ended first.

    str() says why, in the parser's words; it never holds the client's bytes.
    """


class TrustedProxies:
    """Which TCP peers may send a PROXY header: `gateway.trusted_proxies`.

    A header names the client the session then believes in (allowed networks, caps,
    login throttling, logs), so only the load balancers may send one. The peer checked
    is the socket's own, before any header is read. No networks: every peer is trusted,
    as before the option existed (a warning says so at start).
    """

    def __init__(self, networks: Sequence[str]) -> None:
        self.networks = tuple(
            ipaddress.ip_network(value.strip(), strict=False) for value in networks if value.strip()
        )

    def trusts(self, peer_ip: str) -> bool:
        if not self.networks:
            return True
        try:
            address = ipaddress.ip_address(peer_ip.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == net.version and address in net for net in self.networks)


@functools.cache
def trusted_proxies(networks: tuple[str, ...]) -> TrustedProxies:
    """The parsed list, once per process (values were checked when the config loaded)."""
    return TrustedProxies(networks)


def warn_if_anyone_may_proxy(protocol: str, proxy_protocol: bool, networks: Sequence[str]) -> None:
    """At start: a PROXY listener trusting every peer lets anyone claim any address."""
    if proxy_protocol and not trusted_proxies(tuple(networks)).networks:
        log.warning(
            "%s: proxy_protocol is on and gateway.trusted_proxies is empty: any peer that"
            " reaches the listener may claim any client address; list the load balancers",
            protocol,
        )


class _SocketReader:
    """aiosmtpd's AsyncReader over a non-blocking socket; it never reads ahead.

    `read` and `readexactly` ask the kernel for no more than the parser needs; a v1
    line is found by peeking, then consuming up to its LF only.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()

    async def read(self, n: int = -1) -> bytes:
        return await self._recv(max(n, 1))

    async def readexactly(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            piece = await self._recv(n - len(data))
            if not piece:
                raise asyncio.IncompleteReadError(bytes(data), n)
            data += piece
        return bytes(data)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        """Up to and including `separator` (one byte), or V1_MAX_LENGTH bytes without it."""
        line = bytearray()
        while len(line) < V1_MAX_LENGTH:
            peeked = await self._recv(V1_MAX_LENGTH - len(line), socket.MSG_PEEK)
            if not peeked:
                raise asyncio.IncompleteReadError(bytes(line), None)
            end = peeked.find(separator)
            line += self._sock.recv(end + 1 if end >= 0 else len(peeked))
            if end >= 0:
                break
        return bytes(line)

    async def _recv(self, size: int, flags: int = 0) -> bytes:
        while True:
            try:
                return self._sock.recv(size, flags)
            except (BlockingIOError, InterruptedError):
                await self._readable()

    async def _readable(self) -> None:
        ready: asyncio.Future[None] = self._loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        fd = self._sock.fileno()
        self._loop.add_reader(fd, wake)
        try:
            await ready
        finally:
            self._loop.remove_reader(fd)


async def read_proxy_header(
    transport: asyncio.Transport, seconds: float = PROXY_TIMEOUT
) -> str | None:
    """The client address the header names, or None: keep the socket's own peer address.

    None is a LOCAL command (v2) or UNKNOWN (v1): the balancer's own health check, or a
    connection it cannot describe. `transport` must not be reading (pause_reading() from
    connection_made on); it is left paused. Raises ProxyHeaderRefused.
    """
    raw = transport.get_extra_info("socket")
    if raw is None:
        raise ProxyHeaderRefused("no socket to read the header from")
    with raw.dup() as sock:  # the same connection; closing the copy leaves it open
        sock.setblocking(False)
        try:
            async with asyncio.timeout(seconds):
                header = await get_proxy(_SocketReader(sock))
        except TimeoutError:
            raise ProxyHeaderRefused(f"no complete header within {seconds:g} s") from None
        except (asyncio.IncompleteReadError, OSError):
            raise ProxyHeaderRefused("the connection ended before the header") from None
    return _client_address(header)


def _client_address(header: ProxyData) -> str | None:
    if not header.valid:
        raise ProxyHeaderRefused(header.error or "not a PROXY header")
    if header.command == V2_CMD.LOCAL:
        return None
    source = header.src_addr
    if not isinstance(source, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return None  # v1 UNKNOWN, v2 UNSPEC or a UNIX socket: no IP address to use
    if isinstance(source, ipaddress.IPv6Address) and source.ipv4_mapped is not None:
        return str(source.ipv4_mapped)
    return str(source)
