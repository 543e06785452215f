"""POP3 listeners: STLS on pop3.listen, implicit TLS (POP3S) on pop3.pop3s_listen."""

from __future__ import annotations

import asyncio
import logging

from ..context import GatewayContext
from ..listeners import ListeningServer
from ..proxy_protocol import warn_if_anyone_may_proxy
from ..retrieval import LineConnection
from .engine import run_session
from .state import ListenerConfig, Pop3Session

log = logging.getLogger("gateway.pop3")


class Pop3Service:
    """The running POP3 listeners of one process and their sessions."""

    name = "pop3"

    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx
        self.servers: list[ListeningServer] = []
        self._kinds: list[str] = []  # "pop3" or "pop3s", parallel to servers
        self.sessions: dict[asyncio.Task[None], Pop3Session] = {}

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Every bound (host, port), with the real port when 0 was configured."""
        return [address for _, address in self.endpoints()]

    def endpoints(self) -> list[tuple[str, tuple[str, int]]]:
        """("pop3" | "pop3s", (host, port)) for every bound socket (real ports)."""
        return [
            (kind, tuple(sock.getsockname()[:2]))
            for kind, server in zip(self._kinds, self.servers, strict=True)
            for sock in server.sockets
        ]

    async def listen(self, hostport: str, config: ListenerConfig) -> None:
        key = "pop3.pop3s_listen" if config.implicit_tls else "pop3.listen"
        # Behind a PROXY header, POP3S accepts plain TCP: TLS starts after the header.
        tls_here = config.implicit_tls and not config.proxy_protocol
        server = await self.ctx.listeners.serve(
            key,
            hostport,
            lambda: LineConnection(
                lambda conn: self._start_session(conn, config),
                hold_reading=config.proxy_protocol,
            ),
            ssl_context=self.ctx.tls.context if tls_here else None,
            ssl_handshake_timeout=config.login_timeout if tls_here else None,
        )
        self.servers.append(server)
        self._kinds.append("pop3s" if config.implicit_tls else "pop3")

    def _start_session(self, conn: LineConnection, config: ListenerConfig) -> None:
        session = Pop3Session(self.ctx, conn, config)
        task = asyncio.get_running_loop().create_task(run_session(session))
        self.sessions[task] = session
        task.add_done_callback(self.sessions.pop)

    async def stop(self, grace: float) -> None:
        """Stop listening; end idle sessions now and busy ones after at most `grace` s.

        Sessions that are stopped do not enter UPDATE: their DELE marks are dropped.
        """
        for server in self.servers:
            server.close()
        for task, session in list(self.sessions.items()):
            if session.idle:
                task.cancel()
        busy = list(self.sessions)
        if busy:
            _done, pending = await asyncio.wait(busy, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        for server in self.servers:
            await server.wait_closed()


async def start_pop3(ctx: GatewayContext) -> Pop3Service:
    """Start POP3 (STLS) on pop3.listen and, when set, POP3S on pop3.pop3s_listen.

    With several workers they accept from shared sockets (ctx.listeners); the
    one-session-per-mailbox lock is a store lease, so it spans workers (maildrop.py).
    """
    pop3 = ctx.settings.pop3
    warn_if_anyone_may_proxy("pop3", pop3.proxy_protocol, ctx.settings.gateway.trusted_proxies)
    service = Pop3Service(ctx)
    common = {
        "allow_plaintext_login": pop3.allow_plaintext_login,
        "idle_timeout": pop3.idle_timeout,
        "login_timeout": pop3.login_timeout,
        "proxy_protocol": pop3.proxy_protocol,
    }
    try:
        if pop3.listen:
            config = ListenerConfig(implicit_tls=False, **common)
            await service.listen(pop3.listen, config)
        if pop3.pop3s_listen:
            config = ListenerConfig(implicit_tls=True, **common)
            await service.listen(pop3.pop3s_listen, config)
    except BaseException:
        await service.stop(0)
        raise
    for host, port in service.addresses:
        log.info("pop3 listening on %s:%d", host, port)
    return service
