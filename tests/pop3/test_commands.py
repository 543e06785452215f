"""Every command: arguments, argument errors, wrong states, limits (raw protocol lines)."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.mail import sample_message

from .conftest import Pop3Server, RawClient


def tls_client(pop3: Pop3Server, client_tls) -> RawClient:
    client = RawClient(pop3.stls_port)
    client.starttls(client_tls)
    return client


def logged_in(pop3: Pop3Server, client_tls) -> RawClient:
    client = tls_client(pop3, client_tls)
    assert client.login(pop3.mailbox_id, pop3.passphrase).startswith("+OK")
    return client


@pytest.fixture
def three(pop3: Pop3Server) -> list[bytes]:
    raws = [sample_message(n, body_lines=n) for n in (1, 2, 3)]
    for raw in raws:
        pop3.deliver(raw)
    return raws


TRANSACTION_ONLY = ["STAT", "LIST", "LIST 1", "UIDL", "RETR 1", "TOP 1 0", "DELE 1", "RSET", "NOOP"]


async def test_transaction_commands_refused_in_authorization(pop3: Pop3Server, client_tls) -> None:
    def session() -> None:
        client = tls_client(pop3, client_tls)
        for command in TRANSACTION_ONLY:
            verb = command.split()[0]
            assert client.cmd(command) == f"-ERR {verb} is not valid in the AUTHORIZATION state"
        # the session survives as long as the error budget lasts
        assert client.cmd("QUIT") == "+OK bye"

    await asyncio.to_thread(session)


async def test_authorization_command_errors(pop3: Pop3Server, client_tls) -> None:
    def session() -> None:
        client = tls_client(pop3, client_tls)
        assert client.cmd("FOO") == "-ERR unknown command"
        assert client.cmd("APOP mailbox 0123456789abcdef") == "-ERR unknown command"
        assert client.cmd("") == "-ERR unknown command"
        assert client.cmd("PASS something") == "-ERR send USER first"
        assert client.cmd("USER") == "-ERR syntax: USER <mailbox id or address>"
        assert client.cmd("USER   ") == "-ERR syntax: USER <mailbox id or address>"
        assert client.cmd("CAPA now") == "-ERR syntax: CAPA"
        assert client.cmd("STLS") == "-ERR TLS is already active"
        assert client.cmd("QUIT now") == "-ERR syntax: QUIT"
        assert client.cmd("quit") == "+OK bye"
        assert client.closed_by_server()

    await asyncio.to_thread(session)


async def test_authorization_commands_refused_in_transaction(
    pop3: Pop3Server, client_tls, three
) -> None:
    def session() -> None:
        client = logged_in(pop3, client_tls)
        for command in ("USER x", "PASS x", "AUTH PLAIN", "STLS"):
            verb = command.split()[0]
            assert client.cmd(command) == f"-ERR {verb} is not valid in the TRANSACTION state"
        assert client.cmd("QUIT") == "+OK bye (0 messages deleted)"

    await asyncio.to_thread(session)
    assert len(pop3.message_ids()) == 3


async def test_transaction_argument_errors(pop3: Pop3Server, client_tls, three) -> None:
    def session() -> None:
        client = logged_in(pop3, client_tls)
        assert client.cmd("STAT 1") == "-ERR syntax: STAT"
        assert client.cmd("LIST x") == "-ERR syntax: LIST <message number>"
        assert client.cmd("LIST -1") == "-ERR syntax: LIST <message number>"
        assert client.cmd("UIDL 1 2") == "-ERR syntax: UIDL <message number>"
        assert client.cmd("RETR") == "-ERR syntax: RETR <message number>"
        assert client.cmd("TOP 1") == "-ERR syntax: TOP <message number> <lines>"
        assert client.cmd("TOP 1 -1") == "-ERR syntax: TOP <message number> <lines>"
        assert client.cmd("TOP x 1") == "-ERR syntax: TOP <message number> <lines>"
        assert client.cmd("DELE") == "-ERR syntax: DELE <message number>"
        client.close()

    def more() -> None:
        client = logged_in(pop3, client_tls)
        assert client.cmd("RSET 1") == "-ERR syntax: RSET"
        assert client.cmd("NOOP 1") == "-ERR syntax: NOOP"
        assert client.cmd("TOP 1 1 1") == "-ERR syntax: TOP <message number> <lines>"
        assert client.cmd("LIST 0") == "-ERR no such message"
        assert client.cmd("LIST 4") == "-ERR no such message"
        assert client.cmd("RETR 99999999999999999999") == "-ERR no such message"
        assert client.cmd("UIDL 4") == "-ERR no such message"
        assert client.cmd("TOP 4 0") == "-ERR no such message"
        assert client.cmd("DELE 4") == "-ERR no such message"
        assert client.cmd("QUIT") == "+OK bye (0 messages deleted)"

    await asyncio.to_thread(session)
    await asyncio.to_thread(more)
    assert len(pop3.message_ids()) == 3


async def test_deleted_messages_and_rset(pop3: Pop3Server, client_tls, three) -> None:
    sizes = [len(r) for r in three]
    ids = pop3.message_ids()

    def session() -> None:
        client = logged_in(pop3, client_tls)
        assert client.cmd("dele 2") == "+OK message 2 deleted"
        assert client.cmd("DELE 2") == "-ERR message 2 is deleted"
        for command in ("LIST 2", "UIDL 2", "RETR 2", "TOP 2 0"):
            assert client.cmd(command) == "-ERR message 2 is deleted"
        assert client.cmd("STAT") == f"+OK 2 {sizes[0] + sizes[2]}"
        assert client.cmd("LIST") == f"+OK 2 messages ({sizes[0] + sizes[2]} octets)"
        assert client.multi() == [f"1 {sizes[0]}\r\n".encode(), f"3 {sizes[2]}\r\n".encode()]
        assert client.cmd("UIDL").startswith("+OK")
        assert client.multi() == [f"1 {ids[0]}\r\n".encode(), f"3 {ids[2]}\r\n".encode()]
        assert client.cmd("RSET") == f"+OK maildrop has 3 messages ({sum(sizes)} octets)"
        assert client.cmd("LIST 2") == f"+OK 2 {sizes[1]}"
        assert client.cmd("DELE 3") == "+OK message 3 deleted"
        assert client.cmd("QUIT") == "+OK bye (1 messages deleted)"

    await asyncio.to_thread(session)
    assert pop3.message_ids() == ids[:2]


async def test_a_message_expunged_during_the_session_is_refused_not_fatal(
    pop3: Pop3Server, client_tls, three
) -> None:
    """The maildrop lists ids and sizes only; RETR and TOP read the full row then, and a
    message that an IMAP client or an admin removed meanwhile gets a clear -ERR."""
    ids = pop3.message_ids()

    def session() -> None:
        client = logged_in(pop3, client_tls)
        pop3.store.messages.delete(pop3.mailbox_id, [ids[1]])
        for command in ("RETR 2", "TOP 2 0"):
            assert client.cmd(command) == "-ERR message 2 was removed from the mailbox meanwhile"
        assert client.cmd("RETR 3") == f"+OK {len(three[2])} octets"
        assert b"".join(client.multi()) == three[2]
        assert client.cmd("QUIT") == "+OK bye (0 messages deleted)"

    await asyncio.to_thread(session)
    assert pop3.message_ids() == [ids[0], ids[2]]


async def test_pipelined_commands(pop3: Pop3Server, client_tls, three) -> None:
    def session() -> None:
        client = tls_client(pop3, client_tls)
        client.send(
            f"USER {pop3.mailbox_id}\r\nPASS {pop3.passphrase}\r\nSTAT\r\nRETR 1\r\nNOOP\r\n"
        )
        assert client.line() == "+OK send PASS"
        assert client.line().startswith("+OK 3 messages")
        assert client.line() == f"+OK 3 {sum(len(r) for r in three)}"
        assert client.line() == f"+OK {len(three[0])} octets"
        assert b"".join(client.multi()) == three[0]
        assert client.line() == "+OK"
        assert client.cmd("QUIT").startswith("+OK")

    await asyncio.to_thread(session)


async def test_too_many_bad_commands_disconnect(pop3: Pop3Server, client_tls) -> None:
    def session() -> None:
        client = tls_client(pop3, client_tls)
        replies = [client.cmd("BOGUS") for _ in range(10)]
        assert replies[:9] == ["-ERR unknown command"] * 9
        assert replies[9] == "-ERR too many bad commands, closing connection"
        assert client.closed_by_server()

    await asyncio.to_thread(session)


@pytest.mark.parametrize("length", [1100, 200_000])
async def test_overlong_line_is_refused_and_session_goes_on(
    pop3: Pop3Server, client_tls, length: int
) -> None:
    def session() -> None:
        client = tls_client(pop3, client_tls)
        assert client.cmd("NOOP " + "x" * length) == "-ERR line too long"
        assert client.cmd("USER " + pop3.mailbox_id) == "+OK send PASS"
        assert client.cmd("PASS " + pop3.passphrase).startswith("+OK")
        assert client.cmd("NOOP") == "+OK"
        assert client.cmd("QUIT").startswith("+OK")

    await asyncio.to_thread(session)


async def test_bare_lf_commands_are_accepted(pop3: Pop3Server) -> None:
    def session() -> None:
        client = RawClient(pop3.stls_port)
        client.send("CAPA\n")
        assert client.line() == "+OK capability list follows"
        assert b"STLS\r\n" in client.multi()
        client.send("QUIT\n")
        assert client.line() == "+OK bye"

    await asyncio.to_thread(session)


async def test_stls_discards_pipelined_plaintext(pop3: Pop3Server, client_tls) -> None:
    """Bytes sent in clear after STLS must not be executed inside the TLS session."""

    def session() -> None:
        client = RawClient(pop3.stls_port)
        client.send(f"STLS\r\nUSER {pop3.mailbox_id}\r\nCAPA\r\n")
        assert client.line() == "+OK begin TLS negotiation"
        client.wrap_tls(client_tls)
        # the first reply inside TLS answers our first command inside TLS
        assert client.cmd("NOOP") == "-ERR NOOP is not valid in the AUTHORIZATION state"
        assert client.cmd(f"PASS {pop3.passphrase}") == "-ERR send USER first"
        assert client.login(pop3.mailbox_id, pop3.passphrase).startswith("+OK")
        assert client.cmd("QUIT").startswith("+OK")

    await asyncio.to_thread(session)


async def test_failed_tls_handshake_ends_only_that_session(pop3: Pop3Server, client_tls) -> None:
    def session() -> None:
        client = RawClient(pop3.stls_port)
        assert client.cmd("STLS") == "+OK begin TLS negotiation"
        client.send(b"this is not a TLS client hello\r\n" * 4)
        assert client.closed_by_server()
        second = tls_client(pop3, client_tls)
        assert second.login(pop3.mailbox_id, pop3.passphrase).startswith("+OK")
        assert second.cmd("QUIT").startswith("+OK")

    await asyncio.to_thread(session)
