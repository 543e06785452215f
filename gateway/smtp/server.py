"""The SMTP service: listeners (STARTTLS and implicit TLS), admission, graceful stop."""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
from typing import Any

from gateway.config.loader import ConfigError
from gateway.context import GatewayContext
from gateway.listeners import ListeningServer
from gateway.proxy_protocol import trusted_proxies, warn_if_anyone_may_proxy
from gateway.robots import RobotResponder

from . import replies
from .roles import SmtpConnection
from .session import GatewaySMTP

log = logging.getLogger("gateway.smtp")

# aiosmtpd logs every command line (envelope addresses included) at INFO on this
# logger; addresses may only be logged when smtp.log_addresses asks for it.
AIOSMTPD_LOGGER = "mail.log"
CLEANUP_LIMIT = 30.0  # seconds stop() waits for cancelled sessions to clean up


class SmtpService:
    """Implements gateway.context.Service for SMTP and SMTPS."""

    name = "smtp"

    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx
        self.options = ctx.settings.smtp
        self.stopping = False
        self._networks = _parse_networks(self.options.allowed_networks)
        self._proxy_trust = trusted_proxies(tuple(ctx.settings.gateway.trusted_proxies))
        self._servers: list[tuple[str, ListeningServer]] = []
        self._endpoints: list[tuple[str, tuple[str, int]]] = []
        self._connections: dict[SmtpConnection, asyncio.Task] = {}
        self._admitted: dict[SmtpConnection, str] = {}
        self._per_ip: collections.Counter[str] = collections.Counter()
        self._changed = asyncio.Event()
        self.robots = RobotResponder(ctx)

    # --- Service protocol ----------------------------------------------------------------
    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [address for _, address in self.endpoints()]

    def endpoints(self) -> list[tuple[str, tuple[str, int]]]:
        """("smtp" | "smtps", (host, port)) for every bound socket (real ports)."""
        return list(self._endpoints)

    def address(self, kind: str = "smtp") -> tuple[str, int]:
        """The first bound address of the "smtp" or "smtps" listener."""
        for k, address in self._endpoints:
            if k == kind:
                return address
        raise LookupError(f"no {kind} listener")

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def wait_idle(self, at_most: int = 0) -> None:
        """Return once at most `at_most` sessions are open (closed ones fully cleaned up)."""
        while len(self._connections) > at_most:
            self._changed.clear()
            await self._changed.wait()

    async def stop(self, grace: float) -> None:
        """Stop accepting; let open transactions finish for `grace` seconds; close."""
        self.stopping = True
        for _, server in self._servers:
            server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self._connections:
            for conn in list(self._connections):
                if conn.tx is None:
                    conn.close_with(replies.shutting_down(self.ctx.hostname))
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                break
        await self._close_remaining()
        for _, server in self._servers:
            await server.wait_closed()
        await self.robots.stop(max(deadline - loop.time(), 1.0))

    async def _close_remaining(self) -> None:
        for conn in list(self._connections):
            conn.abort_connection()
        tasks = list(self._connections.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=CLEANUP_LIMIT)
            if pending:
                log.error("smtp: %d sessions did not finish after stop", len(pending))

    # --- listeners -----------------------------------------------------------------------
    async def listen(self, spec: str, *, implicit_tls: bool) -> None:
        server = await self.ctx.listeners.serve(
            "smtp.smtps_listen" if implicit_tls else "smtp.listen",
            spec,
            lambda: GatewaySMTP(self, implicit_tls=implicit_tls),
            ssl_context=self.ctx.tls.context if implicit_tls else None,
        )
        kind = "smtps" if implicit_tls else "smtp"
        self._servers.append((kind, server))
        for sock in server.sockets:
            host, port = sock.getsockname()[:2]
            self._endpoints.append((kind, (host, port)))
            log.info("smtp: listening on %s port %d (%s)", host, port, kind)

    # --- connections ---------------------------------------------------------------------
    def register(self, conn: SmtpConnection, task: asyncio.Task) -> None:
        self._connections[conn] = task
        task.add_done_callback(lambda t: self._forget(conn, t))

    def _forget(self, conn: SmtpConnection, task: asyncio.Task) -> None:
        self._connections.pop(conn, None)
        ip = self._admitted.pop(conn, None)
        if ip is not None:
            self._per_ip[ip] -= 1
            if self._per_ip[ip] <= 0:
                del self._per_ip[ip]
        if not task.cancelled() and task.exception() is not None:
            log.debug("smtp: session ended with %s", type(task.exception()).__name__)
        self._changed.set()

    def admit(self, conn: SmtpConnection, ip: str) -> str | None:
        """None to accept the client, else the refusal to send before closing."""
        refusal = self._refusal(ip)
        if refusal is not None:
            self.ctx.metrics.smtp_connections_refused.inc()
            log.info("smtp refused client=%s result=%s", ip, "_".join(refusal.split()[:2]))
            return refusal
        self._admitted[conn] = ip
        self._per_ip[ip] += 1
        self.ctx.metrics.smtp_connections.inc()
        return None

    def untrusted_proxy(self, peer_ip: str) -> bool:
        """True (and logged) when a PROXY header is expected and `peer_ip` may not send one."""
        if not self.options.proxy_protocol or self._proxy_trust.trusts(peer_ip):
            return False
        self.ctx.metrics.smtp_connections_refused.inc()
        log.warning(
            "smtp %s: not a trusted proxy (gateway.trusted_proxies): closed without a greeting",
            peer_ip,
        )
        return True

    def _refusal(self, ip: str) -> str | None:
        hostname = self.ctx.hostname
        if self.stopping:
            return replies.shutting_down(hostname)
        if self._networks and not _in_networks(ip, self._networks):
            return replies.access_denied(hostname)
        total, per_ip = self.options.max_connections, self.options.max_connections_per_ip
        if (total > 0 and len(self._admitted) >= total) or (
            per_ip > 0 and self._per_ip[ip] >= per_ip
        ):
            return replies.too_many_connections(hostname)
        return None

    def transaction_ended(self, conn: SmtpConnection) -> None:
        self._changed.set()  # stop() closes sessions once they are between transactions

    @staticmethod
    def normalize_ip(text: str) -> str:
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return text
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return str(ip)


def _parse_networks(values: list[str]) -> list[Any]:
    try:
        return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]
    except ValueError as exc:
        raise ConfigError(f"smtp.allowed_networks: {exc}") from None


def _in_networks(ip: str, networks: list[Any]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address.version == n.version and address in n for n in networks)


async def start_smtp(ctx: GatewayContext) -> SmtpService:
    """Start SMTP on smtp.listen and, when set, SMTPS on smtp.smtps_listen (on the
    workers' shared sockets when ctx.listeners has them)."""
    logging.getLogger(AIOSMTPD_LOGGER).setLevel(logging.WARNING)
    service = SmtpService(ctx)
    warn_if_anyone_may_proxy(
        "smtp", service.options.proxy_protocol, ctx.settings.gateway.trusted_proxies
    )
    try:
        if service.options.listen:
            await service.listen(service.options.listen, implicit_tls=False)
        if service.options.smtps_listen:
            await service.listen(service.options.smtps_listen, implicit_tls=True)
    except BaseException:
        await service.stop(0)
        raise
    return service
