"""What happens on a POP3 or IMAP connection before the greeting.

With `pop3.proxy_protocol` / `imap.proxy_protocol` on, every connection must begin with
a PROXY v1 or v2 header (gateway/proxy_protocol.py), which names the client whose
address the session then uses; only a peer in `gateway.trusted_proxies` may send one.
The listeners accept plain TCP and hold reading; on an implicit-TLS listener (POP3S,
IMAPS) the TLS handshake follows the header. A connection from an untrusted peer, or
without a valid header, is closed without a greeting, and the refusal is logged.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

from ..proxy_protocol import (
    PROXY_TIMEOUT,
    ProxyHeaderRefused,
    TrustedProxies,
    read_proxy_header,
)
from .connection import ConnectionClosed, LineConnection

log = logging.getLogger("gateway.retrieval")


@dataclass(frozen=True)
class Opening:
    """How one listener's connections start: the PROXY header, then TLS, then the greeting.

    `tls` is the context for an implicit-TLS listener that accepted plain TCP to read the
    header first (None: plain, or TLS already done by the listener itself).
    """

    protocol: str  # "pop3" or "imap", for the log lines
    proxy_protocol: bool
    tls: ssl.SSLContext | None
    tls_handshake_timeout: float
    trusted: TrustedProxies  # the peers that may send the header (gateway.trusted_proxies)


async def open_connection(conn: LineConnection, opening: Opening) -> bool:
    """Make `conn` ready for the greeting; False when it was refused (and closed)."""
    if not opening.proxy_protocol:
        return True
    assert conn.transport is not None, "open_connection on a connection never made"
    if not opening.trusted.trusts(conn.client_ip):
        log.warning(
            "%s %s: not a trusted proxy (gateway.trusted_proxies): closed without a greeting",
            opening.protocol,
            conn.client_ip,
        )
        conn.abort()
        return False
    try:
        address = await read_proxy_header(conn.transport, PROXY_TIMEOUT)
    except ProxyHeaderRefused as exc:
        log.info(
            "%s %s: no valid PROXY header (%s): closed without a greeting",
            opening.protocol,
            conn.client_ip,
            exc,
        )
        conn.abort()
        return False
    if address is not None:
        log.debug("%s %s: PROXY header names %s", opening.protocol, conn.client_ip, address)
        conn.client_ip = address
    if opening.tls is None:
        conn.release_reading()
        return True
    try:
        await conn.start_tls(opening.tls, opening.tls_handshake_timeout)
    except ConnectionClosed as exc:
        # After LOCAL, the balancer's health check: it hangs up without TLS, every few s.
        level = logging.DEBUG if address is None else logging.INFO
        log.log(
            level,
            "%s %s: TLS handshake failed: %r",
            opening.protocol,
            conn.client_ip,
            exc.__cause__,
        )
        conn.abort()
        return False
    return True
