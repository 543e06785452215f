"""RETR/TOP output: dot-stuffing and the TOP cut at every chunk boundary, and on the wire."""

from __future__ import annotations

import asyncio
import base64
import os
import poplib

import pytest

from gateway.pop3.streaming import DotStuffer, TopFilter

from .conftest import Pop3Server
from .test_commands import logged_in

MESSAGES = [
    b"",
    b".",
    b"..\r\n",
    b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nmid.dle\r\n.",
    b"Subject: no body\r\n",
    b"Subject: a\r\nX: b\r\n\r\nline 1\r\nline 2\r\n\r\nline 4\r\n",
    b"Subject: bare\n\n.one\ntwo\n",
    b"\r\n\r\nbody after an empty header\r\n",
]


def reference_wire(message: bytes) -> bytes:
    lines = message.split(b"\n")
    stuffed = b"\n".join(b"." + x if x.startswith(b".") else x for x in lines)
    if message and not message.endswith(b"\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def reference_top(message: bytes, body_lines: int) -> bytes:
    pieces = message.split(b"\n")
    lines = [p + b"\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    for number, line in enumerate(lines):
        if line in (b"\n", b"\r\n"):
            return b"".join(lines[: number + 1 + body_lines])
    return message


def split_every_way(message: bytes):
    yield [message]
    for i in range(len(message) + 1):
        yield [message[:i], message[i:]]
    yield [message[i : i + 1] for i in range(len(message))]


@pytest.mark.parametrize("message", MESSAGES)
def test_dot_stuffing_at_every_split(message: bytes) -> None:
    for chunks in split_every_way(message):
        stuffer = DotStuffer()
        wire = b"".join(stuffer.feed(c) for c in chunks) + stuffer.finish()
        assert wire == reference_wire(message), chunks


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("body_lines", [0, 1, 2, 3, 99999999])
def test_top_at_every_split(message: bytes, body_lines: int) -> None:
    for chunks in split_every_way(message):
        top = TopFilter(body_lines)
        out = b""
        for chunk in chunks:
            out += top.feed(chunk)
            if top.done:
                break
        assert out == reference_top(message, body_lines), chunks


def test_reference_top_examples() -> None:
    message = b"A: 1\r\n\r\nl1\r\nl2\r\n"
    assert reference_top(message, 0) == b"A: 1\r\n\r\n"
    assert reference_top(message, 1) == b"A: 1\r\n\r\nl1\r\n"
    assert reference_top(message, 5) == message


def big_message(size: int) -> bytes:
    """Incompressible base64 lines, with dot lines placed around 64 KiB boundaries."""
    header = b"Subject: big\r\nMessage-ID: <big@example.org>\r\n\r\n"
    lines = [header]
    total = len(header)
    while total < size:
        line = base64.b64encode(os.urandom(57)) + b"\r\n"
        if (total // 65536) != ((total + len(line)) // 65536):
            line = b"." + line
        lines.append(line)
        total += len(line)
    return b"".join(lines)


async def test_big_message_and_dots_on_the_wire(pop3: Pop3Server, client_tls) -> None:
    big = big_message(700_000)
    dotted = b"Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\nend\r\n"
    pop3.deliver(big)
    pop3.deliver(dotted)

    def session() -> None:
        client = logged_in(pop3, client_tls)
        assert client.cmd("LIST 1") == f"+OK 1 {len(big)}"
        assert client.cmd("RETR 1") == f"+OK {len(big)} octets"
        assert b"".join(client.multi()) == reference_wire(big)[:-3]
        assert client.cmd("RETR 2") == f"+OK {len(dotted)} octets"
        assert client.multi() == [
            b"Subject: dots\r\n",
            b"\r\n",
            b"..\r\n",
            b"...two\r\n",
            b"..three\r\n",
            b"end\r\n",
        ]
        assert client.cmd("TOP 2 2") == "+OK top of message follows"
        assert client.multi() == [b"Subject: dots\r\n", b"\r\n", b"..\r\n", b"...two\r\n"]
        assert client.cmd("TOP 1 0") == "+OK top of message follows"
        assert b"".join(client.multi()) == big[: big.index(b"\r\n\r\n") + 4]
        assert client.cmd("TOP 1 99999999") == "+OK top of message follows"
        assert b"".join(client.multi()) == reference_wire(big)[:-3]
        assert client.cmd("QUIT").startswith("+OK")

    await asyncio.to_thread(session)


async def test_list_sizes_match_retr_for_poplib(pop3: Pop3Server, client_tls) -> None:
    messages = [big_message(200_000), b"Subject: x\r\n\r\n.\r\n", b"Subject: empty body\r\n\r\n"]
    for raw in messages:
        pop3.deliver(raw)

    def session() -> None:
        client = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
        client.stls(context=client_tls)
        client.user(pop3.mailbox_id)
        client.pass_(pop3.passphrase)
        sizes = [int(x.split()[1]) for x in client.list()[1]]
        for number, raw in enumerate(messages, 1):
            lines = client.retr(number)[1]
            assert b"".join(line + b"\r\n" for line in lines) == raw
            assert sizes[number - 1] == len(raw)
        client.quit()

    await asyncio.to_thread(session)
