"""Login fixtures: real POP3 and IMAP servers sharing one Authenticator with a chosen
policy, and raw blocking clients bound to a chosen loopback source address (127.0.0.N
are all loopback on Linux), to be run in threads while the loop serves.
"""

from __future__ import annotations

import dataclasses
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.context import GatewayContext
from gateway.imap import ImapService, start_imap
from gateway.login import Authenticator, LoginPolicy
from gateway.pop3 import Pop3Service, start_pop3
from storage.async_store import AsyncStore
from tests.support.sockets import BlockingClient

POP3_FAILED = "-ERR [AUTH] authentication failed"
IMAP_FAILED = "a2 NO [AUTHENTICATIONFAILED] authentication failed"


class LineClient(BlockingClient):
    """POP3 or IMAP spoken line by line (both end lines with CRLF)."""

    def line(self) -> str:
        raw = self.file.readline()
        if not raw:
            raise EOFError("server closed the connection")
        return raw.decode().rstrip("\r\n")

    def cmd(self, text: str) -> str:
        self.send(text + "\r\n")
        return self.line()

    def tagged(self, tag: str, text: str) -> str:
        """Send an IMAP command; its tagged reply (untagged lines skipped)."""
        self.send(f"{tag} {text}\r\n")
        while not (reply := self.line()).startswith(f"{tag} "):
            pass
        return reply


def pop3_login(port: int, tls: ssl.SSLContext, source: str, user: str, passphrase: str) -> str:
    """STLS, USER, PASS from `source`: the reply to PASS. After a success, QUIT and wait
    for the server to close, so the mailbox is free for the next POP3 session."""
    client = LineClient(port, source=source)
    try:
        assert client.cmd("STLS").startswith("+OK")
        client.wrap_tls(tls)
        assert client.cmd(f"USER {user}").startswith("+OK")
        reply = client.cmd(f"PASS {passphrase}")
        if reply.startswith("+OK"):
            assert client.cmd("QUIT").startswith("+OK")
            client.closed_by_server()
        return reply
    finally:
        client.close()


def imap_login(port: int, tls: ssl.SSLContext, source: str, user: str, passphrase: str) -> str:
    """STARTTLS, LOGIN from `source`: the tagged reply to LOGIN."""
    client = LineClient(port, source=source)
    try:
        assert client.tagged("a1", "STARTTLS").startswith("a1 OK")
        client.wrap_tls(tls)
        return client.tagged("a2", f'LOGIN "{user}" "{passphrase}"')
    finally:
        client.close()


@dataclass
class Retrieval:
    """POP3 and IMAP on one context; the mailbox of the root `mailbox` fixture."""

    ctx: GatewayContext
    pop3: Pop3Service
    imap: ImapService
    tls: ssl.SSLContext
    mailbox_id: str
    passphrase: str
    data_dir: Path

    @property
    def authenticator(self) -> Authenticator:
        return self.ctx.authenticator

    def pop3_login(self, source: str, passphrase: str | None = None, user: str = "") -> str:
        port = self.pop3.addresses[0][1]
        secret = self.passphrase if passphrase is None else passphrase
        return pop3_login(port, self.tls, source, user or self.mailbox_id, secret)

    def imap_login(self, source: str, passphrase: str | None = None, user: str = "") -> str:
        port = self.imap.address("imap")[1]
        secret = self.passphrase if passphrase is None else passphrase
        return imap_login(port, self.tls, source, user or self.mailbox_id, secret)

    async def stop(self) -> None:
        await self.pop3.stop(0)
        await self.imap.stop(0)


Serve = Callable[..., Awaitable[Retrieval]]


@pytest.fixture
async def serve(gateway_context, data_dir, mailbox, client_tls) -> AsyncIterator[Serve]:
    """`await serve(policy, astore=None, clock=None)`: POP3 + IMAP with a fresh
    Authenticator(policy, clock) on `astore` (default: the test's store), stopped at the
    end of the test."""
    running: list[Retrieval] = []

    async def start(
        policy: LoginPolicy,
        astore: AsyncStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Retrieval:
        astore = astore or gateway_context.store
        authenticator = Authenticator(astore, policy, clock)
        ctx = dataclasses.replace(gateway_context, store=astore, authenticator=authenticator)
        box, passphrase = mailbox
        served = Retrieval(
            ctx,
            await start_pop3(ctx),
            await start_imap(ctx),
            client_tls,
            box.id,
            passphrase,
            data_dir,
        )
        running.append(served)
        return served

    yield start
    for served in running:
        await served.stop()


# --- PROXY protocol: POP3, POP3S, IMAP and IMAPS that expect the header ---------------


@dataclass
class Proxied:
    """The four retrieval listeners with pop3/imap.proxy_protocol on; the root mailbox."""

    pop3: Pop3Service
    imap: ImapService
    store: Any  # the synchronous store, for checking the audit log
    tls: ssl.SSLContext
    mailbox_id: str
    passphrase: str

    def ports(self) -> dict[str, int]:
        """{"pop3" | "pop3s" | "imap" | "imaps": port}."""
        endpoints = self.pop3.endpoints() + self.imap.endpoints()
        return {kind: address[1] for kind, address in endpoints}

    def logins_from(self) -> list[str]:
        """The client address of every successful POP3 and IMAP login, oldest first."""
        entries = self.store.audit.list(action=".login")
        logins = [e for e in entries if e.action in ("pop3.login", "imap.login")]
        return [e.source for e in sorted(logins, key=lambda e: e.id)]


@pytest.fixture
async def proxied(gateway_context, store, mailbox, client_tls) -> AsyncIterator[Proxied]:
    settings = gateway_context.settings.replace(
        pop3__pop3s_listen="127.0.0.1:0",
        imap__imaps_listen="127.0.0.1:0",
        pop3__proxy_protocol=True,
        imap__proxy_protocol=True,
    )
    ctx = dataclasses.replace(gateway_context, settings=settings)
    box, passphrase = mailbox
    served = Proxied(
        await start_pop3(ctx), await start_imap(ctx), store, client_tls, box.id, passphrase
    )
    yield served
    await served.pop3.stop(0)
    await served.imap.stop(0)
