"""DATA: what is stored is exactly what was sent (after the trace headers)."""

from __future__ import annotations

import asyncio
import base64
import os

import aiosmtplib
import pytest

from .helpers import (
    RawClient,
    canonical,
    client_in_data,
    fixture,
    leftovers,
    split_trace,
    stored,
    stuff,
    unstuffed,
)

CRLF_FIXTURES = [
    "exchange_online_7bit.eml",
    "exchange_online_base64.eml",
    "exchange_online_binary.eml",
    "exchange_2003.eml",
    "google_workspace.eml",
    "dot_lines.eml",
]


@pytest.fixture
async def session(smtp, client_tls):
    client, _ = await RawClient.connect(smtp.address())
    await client.command("EHLO client.example")
    await client.starttls(client_tls)
    await client.command("EHLO client.example")
    yield client
    await client.close()


@pytest.mark.parametrize("name", CRLF_FIXTURES)
async def test_fixture_round_trip_with_aiosmtplib(name, smtp, mailbox, store, client_tls):
    mbx, passphrase = mailbox
    raw = fixture(name)
    host, port = smtp.address()
    client = aiosmtplib.SMTP(hostname=host, port=port, tls_context=client_tls, start_tls=True)
    async with client:
        await client.sendmail("journal-sender@contoso.example", ["journal@example.test"], raw)
    [message] = stored(store, mbx, passphrase)
    fields, rest = split_trace(message)
    assert rest == raw
    assert fields[0] == b"Return-Path: <journal-sender@contoso.example>\r\n"
    assert b"X-Original-To: journal@example.test\r\n" in fields
    assert b"Delivered-To: journal@example.test\r\n" in fields


async def test_smtputf8_alias_and_8bit_body(smtp, mailbox, store, client_tls):
    mbx, passphrase = mailbox
    store.mailboxes.add_alias(mbx.id, "archiv-größe@example.test", actor=None)
    raw = fixture("smtputf8_8bit.eml")
    host, port = smtp.address()
    client = aiosmtplib.SMTP(hostname=host, port=port, tls_context=client_tls, start_tls=True)
    async with client:
        await client.sendmail(
            "jürgen@bücher.example",
            ["Archiv-Größe@example.test"],
            raw,
            mail_options=["SMTPUTF8", "BODY=8BITMIME"],
        )
    fields, rest = split_trace(stored(store, mbx, passphrase)[0])
    assert rest == raw
    assert fields[0] == "Return-Path: <jürgen@bücher.example>\r\n".encode()
    assert "Delivered-To: Archiv-Größe@example.test\r\n".encode() in fields
    assert b" with UTF8SMTPS (TLSv1." in fields[-1]


async def test_mixed_line_endings_are_stored_as_crlf(session, mailbox, store):
    mbx, passphrase = mailbox
    raw = fixture("mixed_line_endings.eml")
    assert await session.transaction("a@example.org", [mbx.address], stuff(raw)) == 250
    rest = split_trace(stored(store, mbx, passphrase)[0])[1]
    assert rest == canonical(raw)
    assert b".dot after a bare LF\r\n.\r\n\r\n.\r\n..two dots after CRLF\r\n" in rest
    # The plaintext size in the index is exact: what POP3 will report.
    assert store.messages.list(mbx.id)[0].size == len(stored(store, mbx, passphrase)[0])


async def test_empty_message_and_message_without_final_crlf(session, mailbox, store):
    mbx, passphrase = mailbox
    assert await session.transaction("a@example.org", [mbx.address], b".\r\n") == 250
    await session.command("RSET")
    assert await session.transaction("a@example.org", [mbx.address], b"no newline\r\n.\r\n") == 250
    assert [split_trace(m)[1] for m in stored(store, mbx, passphrase)] == [b"", b"no newline\r\n"]


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n"])
async def test_smtp_smuggling_is_not_a_second_message(fake_end, session, mailbox, store):
    mbx, passphrase = mailbox
    smuggled = (
        b"From: a@example.org\r\nSubject: first\r\n\r\nbody"
        + fake_end
        + f"MAIL FROM:<ceo@example.org>\r\nRCPT TO:<{mbx.address}>\r\nDATA\r\n".encode()
        + b"From: ceo@example.org\r\nSubject: smuggled\r\n\r\nPay now.\r\n"
    )
    await session.command("MAIL FROM:<a@example.org>")
    await session.command(f"RCPT TO:<{mbx.address}>")
    assert (await session.command("DATA"))[0] == 354
    await session.send(smuggled + b".\r\nQUIT\r\n")
    assert (await session.reply())[0] == 250
    assert (await session.reply())[0] == 221  # nothing else was answered in between
    [message] = stored(store, mbx, passphrase)
    fields, rest = split_trace(message)
    assert rest == unstuffed(smuggled)
    assert b"Subject: smuggled" in rest
    assert fields[0] == b"Return-Path: <a@example.org>\r\n"


async def test_longest_accepted_line_and_one_octet_more(session, mailbox, store, data_dir):
    mbx, passphrase = mailbox
    limit = 65536
    fine = b"Subject: long\r\n\r\n" + b"x" * limit + b"\r\n"
    assert await session.transaction("a@example.org", [mbx.address], stuff(fine)) == 250
    await session.command("RSET")
    await session.command("MAIL FROM:<a@example.org>")
    await session.command(f"RCPT TO:<{mbx.address}>")
    assert (await session.command("DATA"))[0] == 354
    await session.send(stuff(b"Subject: too long\r\n\r\n" + b"y" * (limit + 1) + b"\r\nafter\r\n"))
    code, text = await session.reply()
    assert (code, text[:9]) == (500, "500 5.5.2") and "line too long" in text
    # The session is still usable and only the first message exists.
    await session.command("RSET")
    assert await session.transaction("a@example.org", [mbx.address], stuff(b"ok\r\n")) == 250
    rests = [split_trace(m)[1] for m in stored(store, mbx, passphrase)]
    assert rests == [fine, b"ok\r\n"]
    assert len(leftovers(data_dir)) == 2


async def test_huge_line_of_several_megabytes(session, mailbox, store, data_dir):
    mbx, _ = mailbox
    await session.command("MAIL FROM:<a@example.org>")
    await session.command(f"RCPT TO:<{mbx.address}>")
    await session.command("DATA")
    await session.send(b"Subject: x\r\n\r\n" + b"z" * (5 << 20) + b"\r\n.\r\n")
    assert (await session.reply())[0] == 500
    assert (await session.command("NOOP"))[0] == 250
    assert store.messages.list(mbx.id) == [] and leftovers(data_dir) == []


async def test_size_over_the_limit(start_server, mailbox, store, data_dir):
    mbx, _ = mailbox
    service = await start_server(**{"smtp.max_message_size": 10000})
    client, _ = await RawClient.connect(service.address())
    await client.command("EHLO client.example")
    code, text = await client.command("MAIL FROM:<a@example.org> SIZE=10001")
    assert (code, text[:9]) == (552, "552 5.3.4")
    assert (await client.command("MAIL FROM:<a@example.org> SIZE=10000"))[0] == 250
    await client.command("RSET")
    await client.command("MAIL FROM:<a@example.org>")
    await client.command(f"RCPT TO:<{mbx.address}>")
    assert (await client.command("DATA"))[0] == 354
    await client.send(stuff(b"Subject: big\r\n\r\n" + b"0123456789\r\n" * 1000))
    code, text = await client.reply()
    assert (code, text[:9]) == (552, "552 5.3.4")
    await client.command("RSET")
    assert await client.transaction("a@example.org", [mbx.address], stuff(b"small\r\n")) == 250
    await client.close()
    assert len(store.messages.list(mbx.id)) == 1 and len(leftovers(data_dir)) == 1


async def test_large_message_streams_through(session, mailbox, store):
    mbx, passphrase = mailbox
    body = base64.encodebytes(os.urandom(3 << 20)).replace(b"\n", b"\r\n")
    raw = b"Subject: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body
    assert await session.transaction("a@example.org", [mbx.address], stuff(raw)) == 250
    assert split_trace(stored(store, mbx, passphrase)[0])[1] == raw


async def test_disconnect_mid_data_leaves_nothing(smtp, mailbox, store, data_dir, client_tls):
    mbx, _ = mailbox
    client = await client_in_data(smtp.address(), client_tls, mbx.address)
    await client.send(b"Subject: cut\r\n\r\n")
    for _ in range(100):  # until the server has started writing the encrypted copy
        await client.send(b"data line\r\n" * 100_000)
        if leftovers(data_dir):
            break
    assert leftovers(data_dir)
    client.writer.transport.abort()
    await smtp.wait_idle()
    assert leftovers(data_dir) == [] and store.messages.list(mbx.id) == []


async def test_disconnect_before_the_final_dot(smtp, mailbox, store, data_dir):
    mbx, _ = mailbox
    client, _ = await RawClient.connect(smtp.address())
    await client.command("EHLO client.example")
    await client.command("MAIL FROM:<a@example.org>")
    await client.command(f"RCPT TO:<{mbx.address}>")
    await client.command("DATA")
    await client.send(b"Subject: almost\r\n\r\ncomplete\r\n.")  # no CRLF after the dot
    await client.close()
    await smtp.wait_idle()
    assert leftovers(data_dir) == [] and store.messages.list(mbx.id) == []


async def test_concurrent_transactions(smtp, mailbox, store, client_tls):
    mbx, passphrase = mailbox
    host, port = smtp.address()

    async def send(number: int) -> None:
        client = aiosmtplib.SMTP(hostname=host, port=port, tls_context=client_tls, start_tls=True)
        async with client:
            for k in range(3):
                raw = f"Subject: {number}-{k}\r\n\r\n".encode() + os.urandom(20000).hex().encode()
                await client.sendmail("a@example.org", [mbx.address], raw + b"\r\n")

    await asyncio.gather(*(send(n) for n in range(6)))
    subjects = sorted(
        split_trace(m)[1].split(b"\r\n", 1)[0] for m in stored(store, mbx, passphrase)
    )
    assert subjects == sorted(f"Subject: {n}-{k}".encode() for n in range(6) for k in range(3))
