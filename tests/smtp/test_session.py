"""Greeting, EHLO keywords, STARTTLS, SMTPS, require_tls, pipelining, RSET."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import pytest

from .helpers import RawClient, split_trace, stored, stuff


async def test_greeting_and_ehlo_keywords(smtp, client_tls):
    client, (code, text) = await RawClient.connect(smtp.address())
    assert (code, text) == (220, "220 gateway.test ESMTP Journal Gateway")
    code, text = await client.command("EHLO client.example")
    keywords = [line[4:] for line in text.splitlines()[1:]]
    assert code == 250
    assert keywords == ["SIZE 209715200", "8BITMIME", "SMTPUTF8", "STARTTLS", "PIPELINING", "HELP"]
    await client.starttls(client_tls)
    code, text = await client.command("EHLO client.example")
    keywords = [line[4:] for line in text.splitlines()[1:]]
    assert "STARTTLS" not in keywords and "SIZE 209715200" in keywords
    assert not any(k.startswith("AUTH") for k in keywords)
    assert (await client.command("AUTH PLAIN AGFhAGI="))[0] == 502
    assert await client.command("QUIT") == (221, "221 2.0.0 Bye")
    await client.close()


async def test_size_follows_the_configuration(start_server):
    service = await start_server(**{"smtp.max_message_size": 12345})
    client, _ = await RawClient.connect(service.address())
    _, text = await client.command("EHLO client.example")
    assert "250-SIZE 12345" in text.splitlines()
    await client.close()


async def test_smtplib_over_starttls_stores_the_message(smtp, mailbox, store, client_tls):
    mbx, passphrase = mailbox
    message = b"From: a@example.org\r\nSubject: smtplib\r\n\r\nHello.\r\n"

    def send() -> dict:
        with smtplib.SMTP(*smtp.address()) as client:
            client.starttls(context=client_tls)
            return client.sendmail("a@example.org", [mbx.address], message)

    assert await asyncio.to_thread(send) == {}
    fields, rest = split_trace(stored(store, mbx, passphrase)[0])
    assert rest == message
    assert b"with ESMTPS (TLSv1." in fields[-1]


async def test_smtps_implicit_tls(start_server, mailbox, store, client_tls):
    mbx, passphrase = mailbox
    service = await start_server(**{"smtp.smtps_listen": "127.0.0.1:0"})
    host, port = service.address("smtps")
    assert len(service.addresses) == 2 and port != 0
    client, (code, _) = await RawClient.connect((host, port), tls=client_tls)
    assert code == 220
    _, text = await client.command("EHLO client.example")
    assert "STARTTLS" not in text
    assert (await client.command("STARTTLS"))[0] == 454
    wire = stuff(b"Subject: s\r\n\r\nx\r\n")
    assert await client.transaction("a@example.org", [mbx.address], wire) == 250
    await client.close()
    fields, rest = split_trace(stored(store, mbx, passphrase)[0])
    assert rest == b"Subject: s\r\n\r\nx\r\n"
    assert b"ESMTPS (TLSv1.3 " in fields[-1]


async def test_require_tls_refuses_mail_before_starttls(start_server, mailbox, client_tls):
    mbx, _ = mailbox
    service = await start_server(**{"smtp.require_tls": True})
    client, _ = await RawClient.connect(service.address())
    assert (await client.command("EHLO client.example"))[0] == 250
    code, text = await client.command("MAIL FROM:<a@example.org>")
    assert (code, text[:9]) == (530, "530 5.7.0")
    await client.starttls(client_tls)
    assert (await client.command("EHLO client.example"))[0] == 250
    assert (await client.command("MAIL FROM:<a@example.org>"))[0] == 250
    assert (await client.command(f"RCPT TO:<{mbx.address}>"))[0] == 250
    await client.close()


async def test_aiosmtplib_with_require_tls(start_server, mailbox, store, client_tls):
    mbx, passphrase = mailbox
    service = await start_server(**{"smtp.require_tls": True})
    host, port = service.address()
    plain = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False)
    async with plain:
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await plain.sendmail("a@example.org", [mbx.address], b"Subject: x\r\n\r\nx\r\n")
    assert refused.value.code == 530
    secure = aiosmtplib.SMTP(hostname=host, port=port, tls_context=client_tls, start_tls=True)
    async with secure:
        await secure.sendmail("a@example.org", [mbx.address], b"Subject: x\r\n\r\nx\r\n")
    assert len(stored(store, mbx, passphrase)) == 1


async def test_pipelined_transactions_in_one_write(smtp, mailbox, store, client_tls):
    """A whole session sent at once, two messages and QUIT: replies come in order."""
    mbx, passphrase = mailbox
    client, _ = await RawClient.connect(smtp.address())
    await client.command("EHLO client.example")
    await client.starttls(client_tls)
    await client.command("EHLO client.example")
    first, second = b"Subject: one\r\n\r\n.one\r\n", b"Subject: two\r\n\r\ntwo\r\n"
    burst = (
        f"MAIL FROM:<a@example.org>\r\nRCPT TO:<{mbx.address}>\r\nDATA\r\n".encode()
        + stuff(first)
        + f"MAIL FROM:<>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<{mbx.address}>\r\n"
        "DATA\r\n".encode()
        + stuff(second)
        + b"QUIT\r\n"
    )
    await client.send(burst)
    codes = [(await client.reply())[0] for _ in range(10)]
    assert codes == [250, 250, 354, 250, 250, 550, 250, 354, 250, 221]
    await client.close()
    messages = [split_trace(m)[1] for m in stored(store, mbx, passphrase)]
    assert messages == [first, second]


async def test_rset_and_noop_and_sequence_errors(smtp, mailbox):
    mbx, _ = mailbox
    client, _ = await RawClient.connect(smtp.address())
    assert (await client.command("MAIL FROM:<a@example.org>"))[0] == 503  # no EHLO yet
    await client.command("EHLO client.example")
    assert (await client.command(f"RCPT TO:<{mbx.address}>"))[0] == 503
    assert (await client.command("DATA"))[0] == 503
    assert (await client.command("MAIL FROM:<a@example.org>"))[0] == 250
    assert (await client.command("MAIL FROM:<a@example.org>"))[0] == 503
    assert (await client.command("DATA"))[0] == 503  # no recipient yet
    assert await client.command("RSET") == (250, "250 2.0.0 OK")
    assert (await client.command("NOOP"))[0] == 250
    assert (await client.command("MAIL FROM:<a@example.org> SIZE=abc"))[0] == 501
    assert (await client.command("MAIL FROM:<a@example.org> FOO=1"))[0] == 555
    assert (await client.command("MAIL FROM:<a@example.org> BODY=8BITMIME SMTPUTF8"))[0] == 250
    await client.close()


async def test_overlong_command_line_is_refused_and_session_continues(smtp):
    client, _ = await RawClient.connect(smtp.address())
    await client.command("EHLO client.example")
    assert (await client.command("NOOP " + "x" * 5000))[0] == 500
    assert (await client.command("MAIL FROM:<" + "a" * 2000 + "@example.org>"))[0] == 500
    assert (await client.command("NOOP"))[0] == 250
    await client.close()


async def test_failed_starttls_handshake_does_not_hurt_the_service(smtp, caplog):
    client, _ = await RawClient.connect(smtp.address())
    await client.command("EHLO client.example")
    assert (await client.command("STARTTLS"))[0] == 220
    await client.send(b"this is not a TLS ClientHello\r\n" * 20)
    assert await client.closed_by_server()
    await client.close()
    await smtp.wait_idle()
    again, (code, _) = await RawClient.connect(smtp.address())
    assert code == 220
    await again.close()
    assert not [r for r in caplog.records if r.levelno >= 40 and r.name.startswith("gateway")]
