"""Full POP3 sessions with poplib over STLS and POP3S, as an archiver runs them."""

from __future__ import annotations

import asyncio
import poplib

from tests.support.mail import sample_message

from .conftest import Pop3Server, RawClient


def stls_client(pop3: Pop3Server, client_tls) -> poplib.POP3:
    client = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
    client.stls(context=client_tls)
    return client


def whole(lines: list[bytes]) -> bytes:
    """A message as poplib returns it (dot-unstuffed lines) put back together with CRLF."""
    return b"".join(line + b"\r\n" for line in lines)


async def test_stls_session_retrieves_and_deletes(pop3: Pop3Server, client_tls) -> None:
    raws = [sample_message(n) for n in (1, 2, 3)]
    stored = [pop3.deliver(raw) for raw in raws]

    def session() -> None:
        client = stls_client(pop3, client_tls)
        assert client.user(pop3.mailbox_id).startswith(b"+OK")
        assert client.pass_(pop3.passphrase).startswith(b"+OK 3 messages")
        assert client.stat() == (3, sum(len(r) for r in raws))
        _, listing, _ = client.list()
        assert listing == [f"{n} {len(r)}".encode() for n, r in enumerate(raws, 1)]
        _, uidls, _ = client.uidl()
        assert uidls == [f"{n} {m.id}".encode() for n, m in enumerate(stored, 1)]
        assert client.uidl(2) == f"+OK 2 {stored[1].id}".encode()
        assert client.list(3) == f"+OK 3 {len(raws[2])}".encode()
        for number, raw in enumerate(raws, 1):
            reply, lines, octets = client.retr(number)
            assert reply == f"+OK {len(raw)} octets".encode()
            assert whole(lines) == raw
            assert octets - 2 * len(lines) == len(raw) - 2 * raw.count(b"\r\n")
        assert client.dele(1) == b"+OK message 1 deleted"
        assert client.dele(3) == b"+OK message 3 deleted"
        assert client.stat() == (1, len(raws[1]))
        assert client.noop() == b"+OK"
        assert client.quit() == b"+OK bye (2 messages deleted)"

    await asyncio.to_thread(session)
    assert pop3.message_ids() == [stored[1].id]
    for message in (stored[0], stored[2]):
        assert not (pop3.data_dir / message.path).exists()
    assert (pop3.data_dir / stored[1].path).exists()


async def test_pop3s_session(pop3: Pop3Server, client_tls) -> None:
    raw = sample_message(1)
    pop3.deliver(raw)

    def session() -> None:
        client = poplib.POP3_SSL("127.0.0.1", pop3.pop3s_port, context=client_tls, timeout=30)
        caps = client.capa()
        assert "STLS" not in caps and "USER" in caps and caps["SASL"] == ["PLAIN"]
        client.user(pop3.alias)
        client.pass_(pop3.passphrase)
        assert whole(client.retr(1)[1]) == raw
        client.quit()

    await asyncio.to_thread(session)
    assert len(pop3.message_ids()) == 1  # nothing was deleted


async def test_capabilities_before_and_after_tls(pop3: Pop3Server, client_tls) -> None:
    def session() -> None:
        client = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
        before = client.capa()
        assert "STLS" in before and "TOP" in before and "UIDL" in before
        assert "USER" not in before and "SASL" not in before
        assert "RESP-CODES" in before and "AUTH-RESP-CODE" in before
        client.stls(context=client_tls)
        after = client.capa()
        assert "STLS" not in after and "USER" in after and after["SASL"] == ["PLAIN"]
        client.user(pop3.mailbox_id)
        client.pass_(pop3.passphrase)
        logged_in = client.capa()
        assert "USER" not in logged_in and "SASL" not in logged_in and "TOP" in logged_in
        client.quit()

    await asyncio.to_thread(session)


async def test_credentials_refused_before_tls(pop3: Pop3Server) -> None:
    def session() -> None:
        raw = RawClient(pop3.stls_port)
        assert raw.greeting.startswith("+OK")
        for command in (f"USER {pop3.mailbox_id}", f"PASS {pop3.passphrase}", "AUTH PLAIN", "AUTH"):
            assert raw.cmd(command) == "-ERR [AUTH] TLS required: use STLS first"
        assert raw.cmd("QUIT") == "+OK bye"

    await asyncio.to_thread(session)
