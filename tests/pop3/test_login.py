"""Logging in: USER/PASS, AUTH PLAIN, forgiving passphrase input, status rules, IN-USE."""

from __future__ import annotations

import asyncio
import base64
import poplib

import pytest

from tests.support.mail import sample_message

from .conftest import Pop3Server, RawClient, make_server
from .test_commands import logged_in, tls_client

FAILED = "-ERR [AUTH] authentication failed"


def plain(*parts: str) -> str:
    return base64.b64encode("\0".join(parts).encode()).decode()


async def test_auth_plain_with_initial_response(pop3: Pop3Server, client_tls) -> None:
    def session() -> None:
        client = tls_client(pop3, client_tls)
        reply = client.cmd(f"AUTH PLAIN {plain('', pop3.mailbox_id, pop3.passphrase)}")
        assert reply == "+OK 0 messages (0 octets)"
        assert client.cmd("QUIT").startswith("+OK")

    await asyncio.to_thread(session)


async def test_auth_plain_with_continuation_and_authzid(pop3: Pop3Server, client_tls) -> None:
    def session() -> None:
        client = tls_client(pop3, client_tls)
        assert client.cmd("auth plain") == "+ "
        assert client.cmd(plain(pop3.alias, pop3.alias.upper(), pop3.passphrase)).startswith("+OK")
        assert client.cmd("QUIT").startswith("+OK")

    await asyncio.to_thread(session)


async def test_auth_plain_errors(pop3: Pop3Server, client_tls) -> None:
    def session() -> None:
        client = tls_client(pop3, client_tls)
        assert client.cmd("AUTH") == "+OK supported SASL mechanisms follow"
        assert client.multi() == [b"PLAIN\r\n"]
        assert client.cmd("AUTH CRAM-MD5") == "-ERR unsupported SASL mechanism"
        assert client.cmd("AUTH PLAIN a b") == "-ERR syntax: AUTH <mechanism> [<initial response>]"
        assert client.cmd("AUTH PLAIN") == "+ "
        assert client.cmd("*") == "-ERR authentication canceled"
        assert client.cmd("AUTH PLAIN not-base64!") == "-ERR malformed SASL PLAIN response"
        assert client.cmd("AUTH PLAIN =") == "-ERR malformed SASL PLAIN response"
        no_password = plain("", pop3.mailbox_id, "")
        assert client.cmd(f"AUTH PLAIN {no_password}") == "-ERR malformed SASL PLAIN response"
        other = plain("someone-else@example.test", pop3.mailbox_id, pop3.passphrase)
        assert client.cmd(f"AUTH PLAIN {other}") == FAILED
        wrong = plain("", pop3.mailbox_id, "0" * 30)
        assert client.cmd(f"AUTH PLAIN {wrong}") == FAILED
        assert client.cmd("AUTH PLAIN " + plain("", pop3.mailbox_id, pop3.passphrase)).startswith(
            "+OK"
        )
        assert client.cmd("QUIT").startswith("+OK")

    await asyncio.to_thread(session)


async def test_wrong_passphrase_and_unknown_mailbox_get_one_reply(
    pop3: Pop3Server, client_tls
) -> None:
    def session() -> None:
        client = tls_client(pop3, client_tls)
        assert client.login(pop3.mailbox_id, "ABCDE-FGHJK-MNPQR-STVWX-YZ012-34567") == FAILED
        assert client.login("nobody@example.test", pop3.passphrase) == FAILED
        # the third failure in one session also ends it
        last = "Y" if pop3.passphrase.endswith("X") else "X"  # a really different one
        assert client.login(pop3.alias, pop3.passphrase[:-1] + last) == FAILED
        assert client.closed_by_server()

    await asyncio.to_thread(session)
    entries = pop3.store.audit.list(action="pop3.login-failed")
    assert len(entries) == 3
    for entry in entries:
        assert pop3.passphrase not in entry.detail
        assert pop3.passphrase.replace("-", "") not in entry.detail


async def test_passphrase_typed_loosely_and_login_by_address(pop3: Pop3Server, client_tls) -> None:
    loose = pop3.passphrase.lower().replace("-", " ")

    def session() -> None:
        for user in (pop3.alias.upper(), pop3.mailbox_id.upper(), f"<{pop3.alias}>"):
            client = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
            client.stls(context=client_tls)
            client.user(user)
            assert client.pass_(loose).startswith(b"+OK")
            client.quit()

    await asyncio.to_thread(session)
    assert pop3.store.mailboxes.get(pop3.mailbox_id).last_login is not None


@pytest.mark.parametrize(("status", "allowed"), [("hold", True), ("receive-only", False)])
async def test_mailbox_status_rules(
    pop3: Pop3Server, client_tls, status: str, allowed: bool
) -> None:
    pop3.store.mailboxes.update(pop3.mailbox_id, status=status)

    def session() -> str:
        client = tls_client(pop3, client_tls)
        reply = client.login(pop3.mailbox_id, pop3.passphrase)
        client.cmd("QUIT")
        return reply

    reply = await asyncio.to_thread(session)
    assert reply.startswith("+OK") if allowed else reply == FAILED


async def test_pop3_disabled_or_network_not_allowed(pop3: Pop3Server, client_tls) -> None:
    def attempt() -> str:
        client = tls_client(pop3, client_tls)
        reply = client.login(pop3.mailbox_id, pop3.passphrase)
        client.cmd("QUIT")
        return reply

    pop3.store.mailboxes.update(pop3.mailbox_id, protocols=["imap"])
    assert await asyncio.to_thread(attempt) == FAILED
    pop3.store.mailboxes.update(
        pop3.mailbox_id, protocols=["pop3"], allowed_networks=["10.0.0.0/8"]
    )
    assert await asyncio.to_thread(attempt) == FAILED
    pop3.store.mailboxes.update(pop3.mailbox_id, allowed_networks=["127.0.0.0/8"])
    assert (await asyncio.to_thread(attempt)).startswith("+OK")


async def test_second_session_gets_in_use(pop3: Pop3Server, client_tls) -> None:
    size = len(sample_message(1))
    pop3.deliver(sample_message(1))

    def sessions() -> None:
        first = logged_in(pop3, client_tls)
        second = tls_client(pop3, client_tls)
        reply = second.login(pop3.alias, pop3.passphrase)
        assert reply == "-ERR [IN-USE] mailbox is locked by another POP3 session"
        pop3s = RawClient(pop3.pop3s_port, tls=client_tls)
        assert pop3s.login(pop3.mailbox_id, pop3.passphrase).startswith("-ERR [IN-USE]")
        assert first.cmd("QUIT").startswith("+OK")
        assert first.closed_by_server()
        # still in AUTHORIZATION: the refused session may try again once the lock is free
        assert second.login(pop3.alias, pop3.passphrase) == f"+OK 1 messages ({size} octets)"
        assert second.cmd("QUIT").startswith("+OK")

    await asyncio.to_thread(sessions)


async def test_plaintext_login_when_explicitly_allowed(
    gateway_context, store, data_dir, mailbox
) -> None:
    settings = gateway_context.settings.replace(pop3__allow_plaintext_login=True)
    gateway_context.settings = settings
    server = await make_server(gateway_context, store, data_dir, mailbox)

    def session() -> None:
        client = poplib.POP3("127.0.0.1", server.stls_port, timeout=30)
        caps = client.capa()
        assert "USER" in caps and "STLS" in caps
        client.user(server.mailbox_id)
        assert client.pass_(server.passphrase).startswith(b"+OK")
        client.quit()

    try:
        await asyncio.to_thread(session)
    finally:
        await server.service.stop(0)
