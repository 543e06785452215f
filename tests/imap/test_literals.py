"""Literals ({n} with continuation, {n+} without), quoting, and oversize input limits."""

from __future__ import annotations

import asyncio

from gateway.imap.command_reader import MAX_LINE, MAX_LITERAL

from .conftest import ImapServer, RawClient, sample_message


def tls_client(imap: ImapServer) -> RawClient:
    raw = RawClient(imap.port)
    raw.starttls(imap.client_tls)
    return raw


async def test_login_with_synchronizing_literals(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = tls_client(imap)
        user, password = imap.alias.encode(), imap.passphrase.encode()
        raw.send(b"a1 LOGIN {%d}\r\n" % len(user))
        out = [raw.line()]
        raw.send(user + b" {%d}\r\n" % len(password))
        out.append(raw.line())
        raw.send(password + b"\r\n")
        out += raw.until_tagged(b"a1")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out[0] == b"+ Ready for literal data" and out[1] == b"+ Ready for literal data"
    assert out[-1].startswith(b"a1 OK")


async def test_login_with_non_synchronizing_literals(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = tls_client(imap)
        user, password = imap.alias.encode(), imap.passphrase.encode()
        raw.send(
            b"a1 LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" % (len(user), user, len(password), password)
        )
        out = raw.until_tagged(b"a1")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert len(out) == 1 and out[0].startswith(b"a1 OK")


async def test_imaplib_sends_the_passphrase_as_a_literal(imap: ImapServer) -> None:
    # imaplib's literal mechanism: the last argument goes as {n} after a continuation.
    def client() -> str:
        c = imap.connect()
        c.literal = imap.passphrase.encode()
        typ, _ = c._simple_command("LOGIN", imap.alias)
        c.state = "AUTH"
        c.logout()
        return typ

    assert await asyncio.to_thread(client) == "OK"


async def test_quoted_strings_with_escapes(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = tls_client(imap)
        out = raw.cmd('a1 LOGIN "no\\"body\\\\" "x"')
        out += raw.cmd('a2 LOGIN "unterminated')
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out[0].startswith(b"a1 NO [AUTHENTICATIONFAILED]")
    assert out[1].startswith(b"a2 BAD syntax error")


async def test_literal_in_search_and_header_fields(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))

    def client() -> list[bytes]:
        raw = tls_client(imap)
        raw.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')
        raw.cmd("s1 SELECT INBOX")
        raw.send(b"f1 FETCH 1 (BODY.PEEK[HEADER.FIELDS ({7+}\r\nSubject)])\r\n")
        out = raw.until_tagged(b"f1")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out[0] == b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: message 1\r\n\r\n)"
    assert out[1] == b"f1 OK FETCH completed"


async def test_oversize_line_is_refused_and_the_session_goes_on(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = tls_client(imap)
        raw.send(b"big1 NOOP " + b"x" * (MAX_LINE * 3) + b"\r\n")
        out = raw.until_tagged(b"big1")
        out += raw.cmd("n1 NOOP")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out == [b"big1 BAD command line too long", b"n1 OK NOOP completed"]


async def test_oversize_synchronizing_literal_gets_no_continuation(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = tls_client(imap)
        raw.send(b"a1 LOGIN {%d}\r\n" % (MAX_LITERAL + 1))
        out = raw.until_tagged(b"a1")
        out += raw.cmd("n1 NOOP")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out[0].startswith(b"a1 BAD literal too large")
    assert out[1] == b"n1 OK NOOP completed"


async def test_oversize_non_synchronizing_literal_is_skipped(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = tls_client(imap)
        size = MAX_LITERAL * 4
        raw.send(b"a1 LOGIN {%d+}\r\n" % size + b"y" * size + b' "x"\r\n')
        out = raw.until_tagged(b"a1")
        out += raw.cmd("n1 NOOP")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out[0].startswith(b"a1 BAD literal too large")
    assert out[1] == b"n1 OK NOOP completed"


async def test_append_is_refused_before_its_literal(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = tls_client(imap)
        raw.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')
        raw.send(b"ap APPEND INBOX {10485760}\r\n")
        out = raw.until_tagged(b"ap")
        out += raw.cmd("n1 NOOP")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out[0] == b"ap NO [CANNOT] APPEND is not supported: this is a read-only archive mailbox"
    assert out[1] == b"n1 OK NOOP completed"


async def test_pipelined_commands_are_answered_in_order(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))

    def client() -> list[bytes]:
        raw = tls_client(imap)
        raw.send(
            f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"\r\ns1 SELECT INBOX\r\n'
            "f1 FETCH 1 (UID)\r\nn1 NOOP\r\n".encode()
        )
        out = raw.until_tagged(b"n1")
        raw.close()
        return [line for line in out if not line.startswith(b"* ")]

    out = await asyncio.to_thread(client)
    assert [line.split(b" ")[0] for line in out] == [b"l1", b"s1", b"f1", b"n1"]
    assert all(line.split(b" ")[1] == b"OK" for line in out)


async def test_oversize_lines_inside_authenticate_and_idle(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = tls_client(imap)
        raw.send(b"a1 AUTHENTICATE PLAIN\r\n")
        out = [raw.line()]
        raw.send(b"A" * (MAX_LINE * 2) + b"\r\n")
        out += raw.until_tagged(b"a1")
        raw.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')
        raw.send(b"i1 IDLE\r\n")
        out.append(raw.line())
        raw.send(b"D" * (MAX_LINE * 2) + b"\r\n")
        out += raw.until_tagged(b"i1")
        out += raw.cmd("n1 NOOP")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out == [
        b"+ ",
        b"a1 BAD authentication response too long",
        b"+ idling",
        b"i1 BAD expected DONE to end IDLE",
        b"n1 OK NOOP completed",
    ]
