"""Session lifetime: dropped connections, timeouts, shutdown, listeners, sealed mail."""

from __future__ import annotations

import asyncio
import socket

from gateway.pop3.maildrop import lease_name
from tests.support.mail import sample_message
from tests.support.metrics import metric

from .conftest import Pop3Server, RawClient, make_server
from .test_commands import logged_in


async def sessions_ended(server: Pop3Server) -> None:
    """The server notices a dropped client asynchronously: wait for its sessions to end."""
    if server.service.sessions:
        await asyncio.wait(list(server.service.sessions))
    assert server.store.leases.holder(lease_name(server.mailbox_id)) is None


async def test_dropped_connection_deletes_nothing(pop3: Pop3Server, client_tls) -> None:
    for n in (1, 2):
        pop3.deliver(sample_message(n))
    before = pop3.message_ids()

    def drop() -> None:
        client = logged_in(pop3, client_tls)
        assert client.cmd("DELE 1").startswith("+OK")
        assert client.cmd("DELE 2").startswith("+OK")
        client.sock.close()  # no QUIT

    await asyncio.to_thread(drop)
    await sessions_ended(pop3)
    assert pop3.message_ids() == before

    def again() -> None:
        client = logged_in(pop3, client_tls)
        assert client.cmd("STAT").startswith("+OK 2 ")
        assert client.cmd("QUIT") == "+OK bye (0 messages deleted)"

    await asyncio.to_thread(again)


async def test_port_zero_binds_real_ports(pop3: Pop3Server) -> None:
    addresses = pop3.service.addresses
    assert pop3.service.name == "pop3"
    assert len(addresses) == 2
    assert all(host == "127.0.0.1" and port > 0 for host, port in addresses)


async def short_timeouts(gateway_context, store, data_dir, mailbox) -> Pop3Server:
    gateway_context.settings = gateway_context.settings.replace(
        pop3__login_timeout=0.2, pop3__idle_timeout=0.3
    )
    return await make_server(gateway_context, store, data_dir, mailbox)


async def test_login_timeout_closes_silently(gateway_context, store, data_dir, mailbox) -> None:
    server = await short_timeouts(gateway_context, store, data_dir, mailbox)

    def idle_client() -> bytes:
        client = RawClient(server.stls_port)
        return client.file.read()  # everything until the server closes

    try:
        assert await asyncio.to_thread(idle_client) == b""
    finally:
        await server.service.stop(0)


async def test_idle_timeout_in_transaction_keeps_mail(
    gateway_context, store, data_dir, mailbox, client_tls
) -> None:
    server = await short_timeouts(gateway_context, store, data_dir, mailbox)
    server.deliver(sample_message(1))

    def idle_after_dele() -> bytes:
        client = RawClient(server.stls_port)
        client.starttls(client_tls)
        assert client.login(server.mailbox_id, server.passphrase).startswith("+OK")
        assert client.cmd("DELE 1").startswith("+OK")
        return client.file.read()

    try:
        assert await asyncio.to_thread(idle_after_dele) == b""
        await sessions_ended(server)
        assert len(server.message_ids()) == 1
    finally:
        await server.service.stop(0)


async def test_stop_ends_idle_sessions_and_keeps_mail(pop3: Pop3Server, client_tls) -> None:
    pop3.deliver(sample_message(1))
    client = await asyncio.to_thread(logged_in, pop3, client_tls)
    assert (await asyncio.to_thread(client.cmd, "DELE 1")).startswith("+OK")
    port = pop3.stls_port

    await pop3.service.stop(30)

    assert await asyncio.to_thread(client.file.read) == b""
    assert pop3.store.leases.holder(lease_name(pop3.mailbox_id)) is None
    assert len(pop3.message_ids()) == 1
    refused = socket.socket()
    try:
        assert refused.connect_ex(("127.0.0.1", port)) != 0
    finally:
        refused.close()


async def test_mail_sealed_under_an_earlier_passphrase_is_not_offered(
    pop3: Pop3Server, client_tls
) -> None:
    pop3.deliver(sample_message(1))
    new_passphrase = pop3.store.keys.reset_passphrase(pop3.mailbox_id)
    fresh = sample_message(2)
    fresh_info = pop3.deliver(fresh)

    def session() -> None:
        client = RawClient(pop3.stls_port)
        client.starttls(client_tls)
        assert client.login(pop3.mailbox_id, pop3.passphrase) == "-ERR [AUTH] authentication failed"
        assert (
            client.login(pop3.mailbox_id, new_passphrase) == f"+OK 1 messages ({len(fresh)} octets)"
        )
        assert client.cmd("UIDL 1") == f"+OK 1 {fresh_info.id}"
        assert client.cmd("RETR 1").startswith("+OK")
        assert b"".join(client.multi()) == fresh
        assert client.cmd("DELE 1").startswith("+OK")
        assert client.cmd("QUIT") == "+OK bye (1 messages deleted)"

    await asyncio.to_thread(session)
    assert len(pop3.message_ids()) == 1  # the sealed message stays stored


async def test_counters(pop3: Pop3Server, client_tls) -> None:
    pop3.deliver(sample_message(1))

    def session() -> None:
        client = logged_in(pop3, client_tls)
        client.cmd("DELE 1")
        client.cmd("QUIT")

    await asyncio.to_thread(session)
    assert metric(pop3.ctx, "pop3_sessions_total") == 1
    assert metric(pop3.ctx, "pop3_messages_deleted_total") == 1


async def test_messages_sent_whole_are_flagged_seen(pop3: Pop3Server, client_tls) -> None:
    for n in (1, 2, 3, 4):
        pop3.deliver(sample_message(n, body_lines=3))

    def session() -> None:
        client = logged_in(pop3, client_tls)
        assert client.cmd("RETR 1").startswith("+OK")
        client.multi()
        for command in ("TOP 2 99999999", "TOP 3 1", "TOP 4 0"):
            assert client.cmd(command).startswith("+OK")
            client.multi()
        client.sock.close()  # dropped: the whole messages were still retrieved

    await asyncio.to_thread(session)
    await sessions_ended(pop3)
    flags = [m.flags for m in pop3.store.messages.list(pop3.mailbox_id)]
    assert flags == [{"\\Seen"}, {"\\Seen"}, set(), set()]

    def quit_deletes() -> None:
        client = logged_in(pop3, client_tls)
        assert client.cmd("RETR 3").startswith("+OK")
        client.multi()
        assert client.cmd("DELE 1").startswith("+OK")
        assert client.cmd("QUIT") == "+OK bye (1 messages deleted)"

    await asyncio.to_thread(quit_deletes)
    flags = [m.flags for m in pop3.store.messages.list(pop3.mailbox_id)]
    assert flags == [{"\\Seen"}, {"\\Seen"}, set()]
