"""Several recipients in one transaction: one encrypted copy per mailbox."""

from __future__ import annotations

import aiosmtplib

from .helpers import header_values, split_trace, stored

MESSAGE = b"From: a@example.org\r\nSubject: shared\r\n\r\nOne message, several mailboxes.\r\n"


async def test_copies_per_mailbox_with_their_own_delivered_to(
    smtp, store, domain, mailbox, client_tls
):
    first, first_pass = mailbox  # primary + alias journal@example.test
    second, second_pass = store.mailboxes.create(
        domain, name="B", aliases=["b@example.test"], actor=None
    )
    third, _ = store.mailboxes.create(domain, name="C", actor=None)
    store.mailboxes.update(third.id, status="hold")
    host, port = smtp.address()
    client = aiosmtplib.SMTP(hostname=host, port=port, tls_context=client_tls, start_tls=True)
    async with client:
        refused, reply = await client.sendmail(
            "a@example.org",
            [
                "journal@example.test",
                "b@example.test",
                first.address,
                "JOURNAL@example.test",  # the same address again, other case
                third.address,  # on hold: 451, the others still get it
                "nobody@example.test",
            ],
            MESSAGE,
        )
    assert {addr: r.code for addr, r in refused.items()} == {
        third.address: 451,
        "nobody@example.test": 550,
    }
    assert reply.startswith("2.0.0 OK: stored as ")
    [one] = stored(store, first, first_pass)
    [two] = stored(store, second, second_pass)
    fields_one, rest_one = split_trace(one)
    fields_two, rest_two = split_trace(two)
    assert rest_one == rest_two == MESSAGE
    assert header_values(fields_one, "Delivered-To") == ["journal@example.test", first.address]
    assert header_values(fields_one, "X-Original-To") == ["journal@example.test"]
    assert header_values(fields_two, "Delivered-To") == ["b@example.test"]
    assert header_values(fields_two, "X-Original-To") == ["b@example.test"]
    # Each copy names its own stored id; the reply names both.
    ids = {store.messages.list(first.id)[0].id, store.messages.list(second.id)[0].id}
    assert set(reply.split("stored as ", 1)[1].split()) == ids
    for fields, info in ((fields_one, first), (fields_two, second)):
        assert f"id {store.messages.list(info.id)[0].id};".encode() in fields[-1]


async def test_primary_address_has_no_x_original_to(smtp, store, mailbox, client_tls):
    mbx, passphrase = mailbox
    host, port = smtp.address()
    client = aiosmtplib.SMTP(hostname=host, port=port, tls_context=client_tls, start_tls=True)
    async with client:
        await client.sendmail("a@example.org", [mbx.address], MESSAGE)
    fields, _ = split_trace(stored(store, mbx, passphrase)[0])
    assert header_values(fields, "X-Original-To") == []
    assert header_values(fields, "Delivered-To") == [mbx.address]
    received = fields[-1].decode()
    assert received.startswith("Received: from ")
    assert "([127.0.0.1])\r\n\tby gateway.test (Journal Gateway) with ESMTPS (TLSv1.3 " in received


async def test_all_recipients_refused_means_no_data(smtp, store, mailbox):
    mbx, _ = mailbox
    host, port = smtp.address()
    client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False)
    async with client:
        try:
            await client.sendmail("a@example.org", ["nobody@example.test"], MESSAGE)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            assert [r.code for r in exc.recipients] == [550]
        else:
            raise AssertionError("recipient was not refused")
    assert store.messages.list(mbx.id) == []
