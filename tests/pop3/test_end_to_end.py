"""SMTP in, POP3 out: mail sent with smtplib and swaks comes back byte for byte.

What POP3 returns is the sent message with the gateway's trace headers in front
(Return-Path, Delivered-To, Received naming the stored message id). The tests check
that prefix exactly and that the rest is the sent bytes, then that fetchmail delivers
the very same bytes, and getmail the same up to its documented rewriting (LF line ends,
long header lines re-wrapped).
"""

from __future__ import annotations

import asyncio
import poplib
import re
import subprocess
from pathlib import Path

from tests.support.mail import SENDER, send_with_smtplib
from tests.support.retrievers import as_getmail_delivers, unfold_header
from tests.support.tools import require_tool

from .conftest import Pop3Server
from .test_streaming import big_message
from .tools import run_fetchmail, run_getmail

TRACE = re.compile(
    rb"Return-Path: <journal-sender@example\.org>\r\n"
    rb"(?:X-Original-To: [^\r\n]+\r\n)*"
    rb"(?:Delivered-To: [^\r\n]+\r\n)+"
    rb"Received: from [^\r\n]+\r\n\tby [^\r\n]+\r\n\tid (?P<id>[0-9A-Z]{26}); [^\r\n]+\r\n"
)


def sent_messages() -> list[bytes]:
    return [
        b"From: a@example.org\r\nTo: journal@example.test\r\nSubject: one\r\n\r\nHello.\r\n",
        b"Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\nFrom the start of a line\r\nend\r\n",
    ]


def send_with_swaks(port: int, to: str, raw: bytes, tmp_path: Path) -> None:
    swaks = require_tool("swaks")
    message = tmp_path / "swaks.eml"
    # swaks always ends DATA with CRLF "." CRLF after the file's content: leave the
    # message's own final CRLF out so that exactly `raw` goes over the wire.
    message.write_bytes(raw.removesuffix(b"\r\n"))
    argv = [swaks, "--server", "127.0.0.1", "--port", str(port), "--tls", "--helo", "client.test"]
    argv += ["--from", SENDER, "--to", to, "--data", f"@{message}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def retrieve_with_poplib(pop3: Pop3Server, client_tls) -> list[tuple[str, bytes]]:
    client = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
    client.stls(context=client_tls)
    client.user(pop3.alias)
    client.pass_(pop3.passphrase)
    uidls = [line.split()[1].decode() for line in client.uidl()[1]]
    bodies = [b"".join(x + b"\r\n" for x in client.retr(n)[1]) for n in range(1, len(uidls) + 1)]
    client.quit()
    return list(zip(uidls, bodies, strict=True))


def check_trace_and_body(uidl: str, retrieved: bytes, sent: bytes) -> None:
    assert retrieved.endswith(sent)
    match = TRACE.fullmatch(retrieved[: len(retrieved) - len(sent)])
    assert match is not None, retrieved[:400]
    assert match["id"].decode() == uidl


async def test_smtp_in_pop3_out_with_every_client(
    pop3: Pop3Server, smtp_port: int, client_tls, ca_pem: Path, tmp_path: Path
) -> None:
    require_tool("swaks")
    require_tool("fetchmail")
    require_tool("getmail")
    sent = [*sent_messages(), big_message(250_000)]

    await asyncio.to_thread(send_with_smtplib, smtp_port, pop3.alias, sent[:2], client_tls)
    await asyncio.to_thread(send_with_swaks, smtp_port, pop3.alias, sent[2], tmp_path)

    retrieved = await asyncio.to_thread(retrieve_with_poplib, pop3, client_tls)
    assert len(retrieved) == 3
    for (uidl, body), raw in zip(retrieved, sent, strict=True):
        check_trace_and_body(uidl, body, raw)
    bodies = [body for _, body in retrieved]

    assert await asyncio.to_thread(run_fetchmail, pop3, ca_pem, tmp_path, True) == bodies
    delivered = await asyncio.to_thread(run_getmail, pop3, ca_pem, tmp_path, True)
    expected = [unfold_header(as_getmail_delivers(body)) for body in bodies]
    assert [unfold_header(d) for d in delivered] == expected
    assert pop3.message_ids() == []
