"""POP3, POP3S, IMAP and IMAPS behind a real HAProxy sending PROXY protocol v2 and v1.

Real poplib and imaplib clients connect to HAProxy from 127.0.0.2; HAProxy connects to
the gateway from 127.0.0.1. The audit log must name 127.0.0.2, the client.
"""

from __future__ import annotations

import asyncio
import imaplib
import poplib
import socket
import ssl

import pytest

from tests.support.haproxy import HAProxy
from tests.support.mail import deliver, sample_message

from .conftest import Proxied

pytestmark = pytest.mark.external
CLIENT = "127.0.0.2"  # the client's own address: neither HAProxy's nor the gateway's
KINDS = ("pop3", "pop3s", "imap", "imaps")


def _from_client(host: str, port: int, timeout: float | None) -> socket.socket:
    return socket.create_connection((host, port), timeout, source_address=(CLIENT, 0))


class Pop3FromClient(poplib.POP3):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        return _from_client(self.host, self.port, timeout)


class Pop3sFromClient(poplib.POP3_SSL):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = _from_client(self.host, self.port, timeout)
        return self.context.wrap_socket(sock, server_hostname=self.host)


class ImapFromClient(imaplib.IMAP4):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        return _from_client(self.host, self.port, timeout)


class ImapsFromClient(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = _from_client(self.host, self.port, timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def retrieve(kind: str, port: int, tls: ssl.SSLContext, user: str, passphrase: str) -> bytes:
    """Log in through `port` with the real client for `kind`; the first message."""
    if kind.startswith("pop3"):
        if kind == "pop3s":
            pop = Pop3sFromClient("127.0.0.1", port, timeout=30, context=tls)
        else:
            pop = Pop3FromClient("127.0.0.1", port, timeout=30)
            pop.stls(context=tls)
        pop.user(user)
        pop.pass_(passphrase)
        _, lines, _ = pop.retr(1)
        pop.quit()
        return b"\r\n".join(lines) + b"\r\n"
    if kind == "imaps":
        imap = ImapsFromClient("127.0.0.1", port, timeout=30, ssl_context=tls)
    else:
        imap = ImapFromClient("127.0.0.1", port, timeout=30)
        imap.starttls(ssl_context=tls)
    imap.login(user, passphrase)
    imap.select("INBOX", readonly=True)
    _, data = imap.fetch("1", "(BODY.PEEK[])")
    imap.logout()
    return data[0][1]


@pytest.fixture(params=[2, 1], ids=["send-proxy-v2", "send-proxy-v1"])
async def haproxy(request, tmp_path, proxied: Proxied):
    ports = proxied.ports()
    proxy = HAProxy(
        tmp_path / "haproxy",
        {kind: [ports[kind]] for kind in KINDS},
        proxy_version=request.param,
    )
    await asyncio.to_thread(proxy.start)
    try:
        await asyncio.to_thread(proxy.wait_all_up)  # health checks: PROXY LOCAL / UNKNOWN
        yield proxy
    finally:
        await asyncio.to_thread(proxy.stop)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_client_behind_haproxy_retrieves_and_is_seen_by_its_own_address(
    kind: str, haproxy: HAProxy, proxied: Proxied
) -> None:
    message = sample_message(1)
    deliver(proxied.store, proxied.mailbox_id, message)
    retrieved = await asyncio.to_thread(
        retrieve,
        kind,
        haproxy.ports[kind],
        proxied.tls,
        proxied.mailbox_id,
        proxied.passphrase,
    )
    assert retrieved == message
    assert proxied.logins_from() == [CLIENT]
    assert proxied.store.login_clients.is_known(proxied.mailbox_id, CLIENT)
