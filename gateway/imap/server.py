"""The IMAP service: listeners for IMAP (STARTTLS) and IMAPS (implicit TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from ..context import GatewayContext
from ..listeners import ListeningServer
from ..logs import bind_connection
from ..proxy_protocol import trusted_proxies, warn_if_anyone_may_proxy
from ..retrieval.opening import Opening, open_connection
from .command_reader import ImapConnection
from .engine import run_session, shutdown
from .state import ImapSession

log = logging.getLogger("gateway.imap")
TLS_HANDSHAKE_TIMEOUT = 30.0


class ImapService:
    """A running IMAP listener group (the `Service` protocol of gateway.context)."""

    name = "imap"

    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx
        self._servers: list[ListeningServer] = []
        self._kinds: list[str] = []  # "imap" or "imaps", parallel to _servers
        self._sessions: dict[ImapSession, asyncio.Task] = {}

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [address for _, address in self.endpoints()]

    def endpoints(self) -> list[tuple[str, tuple[str, int]]]:
        """("imap" | "imaps", (host, port)) for every bound socket (real ports)."""
        return [
            (kind, tuple(sock.getsockname()[:2]))
            for kind, server in zip(self._kinds, self._servers, strict=True)
            for sock in server.sockets
        ]

    def address(self, kind: str = "imap") -> tuple[str, int]:
        """The first bound address of the "imap" or "imaps" listener."""
        for k, address in self.endpoints():
            if k == kind:
                return address
        raise LookupError(f"no {kind} listener")

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    async def start(self) -> None:
        settings = self.ctx.settings.imap
        trusted = self.ctx.settings.gateway.trusted_proxies
        warn_if_anyone_may_proxy("imap", settings.proxy_protocol, trusted)
        for listen, implicit in ((settings.listen, False), (settings.imaps_listen, True)):
            if not listen:
                continue
            # Behind a PROXY header, IMAPS accepts plain TCP: TLS starts after the header.
            tls_here = implicit and not settings.proxy_protocol
            server = await self.ctx.listeners.serve(
                "imap.imaps_listen" if implicit else "imap.listen",
                listen,
                functools.partial(
                    ImapConnection,
                    functools.partial(self._start_session, implicit),
                    hold_reading=settings.proxy_protocol,
                ),
                ssl_context=self.ctx.tls.context if tls_here else None,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if tls_here else None,
            )
            self._servers.append(server)
            self._kinds.append("imaps" if implicit else "imap")
            for sock in server.sockets:
                log.info("%s listening on %s", self._kinds[-1], sock.getsockname()[:2])

    def _start_session(self, implicit: bool, conn: ImapConnection) -> None:
        asyncio.get_running_loop().create_task(self._handle(implicit, conn))

    async def _handle(self, implicit: bool, conn: ImapConnection) -> None:
        bind_connection("imap")
        session = ImapSession(self.ctx, conn, implicit)
        task = asyncio.current_task()
        assert task is not None
        self._sessions[session] = task
        self.ctx.metrics.imap_connections.inc()
        try:
            if await self._open(session):
                await run_session(session)
        except Exception:  # a bug must not take the listener down; no content is logged
            log.exception("imap: session failed")
        finally:
            self._sessions.pop(session, None)
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5)

    async def _open(self, session: ImapSession) -> bool:
        """The PROXY header and the TLS after it, when the listener expects them."""
        proxy_protocol = self.ctx.settings.imap.proxy_protocol
        opening = Opening(
            "imap",
            proxy_protocol,
            self.ctx.tls.context if proxy_protocol and session.implicit_tls else None,
            TLS_HANDSHAKE_TIMEOUT,
            trusted_proxies(tuple(self.ctx.settings.gateway.trusted_proxies)),
        )
        session.busy = True  # no BYE from stop() before the greeting
        try:
            return await open_connection(session.conn, opening)
        finally:
            session.busy = False

    async def stop(self, grace: float) -> None:
        """Stop accepting; idle sessions get BYE now, busy ones after their command."""
        for server in self._servers:
            server.close()
        sessions = dict(self._sessions)
        await asyncio.gather(*(shutdown(s) for s in sessions), return_exceptions=True)
        tasks = list(sessions.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=max(grace, 0.01))
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)


async def start_imap(ctx: GatewayContext) -> ImapService:
    """Start IMAP on imap.listen and, when set, IMAPS on imap.imaps_listen (on the
    workers' shared sockets when ctx.listeners has them)."""
    service = ImapService(ctx)
    await service.start()
    return service
