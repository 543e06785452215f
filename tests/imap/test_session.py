"""Greeting, capabilities, TLS, login and the state machine, as clients see them."""

from __future__ import annotations

import asyncio
import base64
import imaplib

import pytest

from gateway.imap import start_imap

from .conftest import ImapServer, RawClient

BASE_CAPS = {"IMAP4REV1", "LITERAL+", "SASL-IR", "ID", "IDLE", "NAMESPACE", "UIDPLUS", "UNSELECT"}


async def test_greeting_advertises_starttls_and_logindisabled(imap: ImapServer) -> None:
    def client() -> tuple:
        c = imap.connect(starttls=False)
        before = set(c.capabilities)
        with pytest.raises(imaplib.IMAP4.error) as info:
            c.login(imap.alias, imap.passphrase)
        refused = str(info.value)
        c.starttls(ssl_context=imap.client_tls)
        after = set(c.capabilities)
        c.logout()
        return before, refused, after

    before, refused, after = await asyncio.to_thread(client)
    assert BASE_CAPS <= before
    assert {"STARTTLS", "LOGINDISABLED"} <= before and "AUTH=PLAIN" not in before
    assert "PRIVACYREQUIRED" in refused
    assert "AUTH=PLAIN" in after and "STARTTLS" not in after and "LOGINDISABLED" not in after


async def test_login_after_starttls_by_address_and_by_id(imap: ImapServer) -> None:
    def client(user: str) -> str:
        c = imap.connect()
        typ, data = c.login(user, imap.passphrase)
        c.logout()
        return data[0].decode()

    text = await asyncio.to_thread(client, imap.alias)
    assert text.startswith("[CAPABILITY IMAP4rev1")
    assert "logged in" in await asyncio.to_thread(client, imap.mailbox_id)


async def test_passphrase_is_forgiving_about_case_and_hyphens(imap: ImapServer) -> None:
    def client() -> str:
        c = imap.connect()
        typ, _ = c.login(imap.alias, imap.passphrase.lower().replace("-", " "))
        c.logout()
        return typ

    assert await asyncio.to_thread(client) == "OK"


@pytest.mark.parametrize("user", ["right", "unknown@example.test"])
async def test_wrong_passphrase_gets_the_uniform_answer(imap: ImapServer, user: str) -> None:
    def client() -> str:
        c = imap.connect()
        name = imap.alias if user == "right" else user
        with pytest.raises(imaplib.IMAP4.error) as info:
            c.login(name, "WRONG-WRONG-WRONG-WRONG-WRONG-WRONG")
        c.logout()
        return str(info.value)

    text = await asyncio.to_thread(client)
    assert "[AUTHENTICATIONFAILED] authentication failed" in text


async def test_failed_login_is_audited_without_the_passphrase(imap: ImapServer) -> None:
    def client() -> None:
        c = imap.connect()
        with pytest.raises(imaplib.IMAP4.error):
            c.login(imap.alias, "WRONG-WRONG-WRONG-WRONG-WRONG-WRONG")
        c.logout()

    await asyncio.to_thread(client)
    entries = imap.store.audit.list()
    failed = [e for e in entries if e.action == "imap.login-failed"]
    assert failed and failed[0].target == imap.mailbox_id
    assert all("WRONG" not in f"{e.detail}{e.target}" for e in entries)


async def test_authenticate_plain_with_continuation(imap: ImapServer) -> None:
    def client() -> str:
        c = imap.connect()
        typ, _ = c.authenticate(
            "PLAIN", lambda _challenge: f"\0{imap.alias}\0{imap.passphrase}".encode()
        )
        state = c.state
        c.logout()
        return f"{typ} {state}"

    assert await asyncio.to_thread(client) == "OK AUTH"


async def test_authenticate_plain_with_sasl_ir_and_cancel(imap: ImapServer) -> None:
    def client() -> tuple[list[bytes], list[bytes], list[bytes]]:
        raw = RawClient(imap.port)
        raw.starttls(imap.client_tls)
        cancelled = raw.cmd("a1 AUTHENTICATE PLAIN", tag=b"+")
        raw.send(b"*\r\n")
        cancelled += raw.until_tagged(b"a1")
        token = base64.b64encode(f"\0{imap.alias}\0{imap.passphrase}".encode()).decode()
        bad = raw.cmd("a2 AUTHENTICATE PLAIN !!notbase64")
        ok = raw.cmd(f"a3 AUTHENTICATE PLAIN {token}")
        raw.close()
        return cancelled, bad, ok

    cancelled, bad, ok = await asyncio.to_thread(client)
    assert cancelled[0] == b"+ " and cancelled[-1].startswith(b"a1 BAD")
    assert bad[-1].startswith(b"a2 BAD")
    assert ok[-1].startswith(b"a3 OK")


async def test_plaintext_login_when_allowed(imap: ImapServer) -> None:
    imap.ctx.settings = imap.ctx.settings.replace(imap__allow_plaintext_login=True)

    def client() -> tuple[set, str]:
        c = imap.connect(starttls=False)
        caps = set(c.capabilities)
        typ, _ = c.login(imap.alias, imap.passphrase)
        c.logout()
        return caps, typ

    caps, typ = await asyncio.to_thread(client)
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps and typ == "OK"


async def test_imaps_implicit_tls(imap: ImapServer) -> None:
    def client() -> tuple[set, str]:
        c = imaplib.IMAP4_SSL("127.0.0.1", imap.imaps_port, ssl_context=imap.client_tls, timeout=30)
        caps = set(c.capabilities)
        typ, _ = c.login(imap.alias, imap.passphrase)
        c.logout()
        return caps, typ

    caps, typ = await asyncio.to_thread(client)
    assert "STARTTLS" not in caps and "AUTH=PLAIN" in caps and typ == "OK"


async def test_starttls_discards_pipelined_cleartext(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = RawClient(imap.port)
        # An attacker's injected command rides in the same packet as STARTTLS.
        raw.send(b"s1 STARTTLS\r\nx1 CAPABILITY\r\n")
        assert raw.line().startswith(b"s1 OK")
        raw.wrap_tls(imap.client_tls)
        reply = raw.cmd("n1 NOOP")
        raw.close()
        return reply

    assert await asyncio.to_thread(client) == [b"n1 OK NOOP completed"]


async def test_starttls_twice_is_refused(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = RawClient(imap.port)
        raw.starttls(imap.client_tls)
        reply = raw.cmd("s2 STARTTLS")
        raw.close()
        return reply

    assert (await asyncio.to_thread(client))[-1].startswith(b"s2 BAD")


async def test_commands_in_the_wrong_state_are_refused(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = RawClient(imap.port)
        replies = [raw.cmd("a1 SELECT INBOX")[-1], raw.cmd("a2 FETCH 1 FLAGS")[-1]]
        raw.starttls(imap.client_tls)
        raw.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')
        replies.append(raw.cmd("a3 FETCH 1 FLAGS")[-1])
        replies.append(raw.cmd(f'a4 LOGIN "{imap.alias}" x')[-1])
        replies.append(raw.cmd("a5 STARTTLS")[-1])
        raw.close()
        return replies

    replies = await asyncio.to_thread(client)
    assert replies[0] == b"a1 BAD SELECT not allowed now: log in first"
    assert replies[1] == b"a2 BAD FETCH not allowed now: log in first"
    assert replies[2] == b"a3 BAD FETCH not allowed now: select a mailbox first"
    assert replies[3].startswith(b"a4 BAD")
    assert replies[4].startswith(b"a5 BAD")


async def test_noop_id_namespace_capability_logout(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = RawClient(imap.port, tls=None)
        out = raw.cmd("c1 CAPABILITY")
        out += raw.cmd('i1 ID ("name" "test-client" "version" NIL)')
        out += raw.cmd("i2 ID NIL")
        out += raw.cmd("n1 NOOP")
        raw.starttls(imap.client_tls)
        raw.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')
        out += raw.cmd("ns NAMESPACE")
        out += raw.cmd("lo LOGOUT")
        assert raw.closed_by_server()
        return out

    out = await asyncio.to_thread(client)
    assert out[0].startswith(b"* CAPABILITY IMAP4rev1 ") and out[1] == b"c1 OK CAPABILITY completed"
    assert out[2] == b'* ID ("name" "Journal Gateway")' and out[3] == b"i1 OK ID completed"
    assert out[5] == b"i2 OK ID completed" and out[6] == b"n1 OK NOOP completed"
    assert out[7] == b'* NAMESPACE (("" "/")) NIL NIL'
    assert out[-2:] == [b"* BYE logging out", b"lo OK LOGOUT completed"]


async def test_syntax_errors_echo_the_tag(imap: ImapServer) -> None:
    def client() -> list[list[bytes]]:
        raw = RawClient(imap.port)
        out = [raw.cmd("t1 FROBNICATE"), raw.cmd("t2 LOGIN onlyuser"), raw.cmd("t3 NOOP extra")]
        out.append(raw.cmd(b"(bad", tag=b"*"))
        out.append(raw.cmd(b"", tag=b"*"))
        out.append(raw.cmd("t4 UID LOGIN"))
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out[0] == [b"t1 BAD syntax error: unknown command FROBNICATE"]
    assert out[1][0].startswith(b"t2 BAD syntax error")
    assert out[2][0].startswith(b"t3 BAD syntax error")
    assert out[3][0].startswith(b"* BAD") and out[4][0].startswith(b"* BAD")
    assert out[5][0].startswith(b"t4 BAD")


async def test_status_rules_refuse_receive_only_and_disabled(imap: ImapServer) -> None:
    def attempt() -> str:
        c = imap.connect()
        try:
            c.login(imap.alias, imap.passphrase)
            return "OK"
        except imaplib.IMAP4.error as exc:
            return str(exc)
        finally:
            c.logout()

    for status, expected in (("hold", "OK"), ("receive-only", "NO"), ("disabled", "NO")):
        imap.store.mailboxes.update(imap.mailbox_id, status=status)
        result = await asyncio.to_thread(attempt)
        assert (result == "OK") == (expected == "OK"), (status, result)
        if expected == "NO":
            assert "authentication failed" in result


def _refused_login(imap: ImapServer) -> str:
    """Log in with the right passphrase; return the refusal text (a refusal is expected)."""
    c = imap.connect()
    with pytest.raises(imaplib.IMAP4.error) as info:
        c.login(imap.alias, imap.passphrase)
    c.logout()
    return str(info.value)


async def test_imap_protocol_disabled_for_mailbox(imap: ImapServer) -> None:
    imap.store.mailboxes.update(imap.mailbox_id, protocols=["pop3"])

    assert "authentication failed" in await asyncio.to_thread(_refused_login, imap)


async def test_allowed_networks_are_enforced(imap: ImapServer) -> None:
    imap.store.mailboxes.update(imap.mailbox_id, allowed_networks=["192.0.2.0/24"])

    assert "authentication failed" in await asyncio.to_thread(_refused_login, imap)


async def test_idle_session_is_logged_out(imap: ImapServer) -> None:
    imap.ctx.settings = imap.ctx.settings.replace(imap__idle_timeout=0.3)

    def client() -> list[bytes]:
        raw = RawClient(imap.port)
        lines = []
        try:
            while True:
                lines.append(raw.line())
        except EOFError:
            pass
        raw.close()
        return lines

    assert await asyncio.to_thread(client) == [b"* BYE Autologout; idle for too long"]


async def test_stop_says_bye_and_a_new_server_serves(imap: ImapServer) -> None:
    def connect() -> RawClient:
        raw = RawClient(imap.port)
        raw.cmd("n1 NOOP")
        return raw

    raw = await asyncio.to_thread(connect)
    await imap.service.stop(1)
    assert await asyncio.to_thread(raw.line) == b"* BYE [UNAVAILABLE] server shutting down"
    raw.close()
    imap.service = await start_imap(imap.ctx)

    def again() -> str:
        c = imap.login()
        c.logout()
        return "ok"

    assert await asyncio.to_thread(again) == "ok"
