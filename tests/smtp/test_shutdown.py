"""stop(grace): finish open transactions within the grace period, never keep a partial."""

from __future__ import annotations

import asyncio

import pytest

from .helpers import RawClient, leftovers, split_trace, stored

BODY = b"Subject: during shutdown\r\n\r\n" + b"line of text\r\n" * 50_000


async def open_data(service, mbx) -> RawClient:
    client, _ = await RawClient.connect(service.address())
    await client.command("EHLO client.example")
    await client.command("MAIL FROM:<a@example.org>")
    await client.command(f"RCPT TO:<{mbx.address}>")
    assert (await client.command("DATA"))[0] == 354
    await client.send(BODY[: len(BODY) // 2])
    return client


async def test_idle_sessions_are_told_and_closed(smtp):
    client, _ = await RawClient.connect(smtp.address())
    await client.command("EHLO client.example")
    await smtp.stop(30)
    code, text = await client.reply()
    assert (code, text[:9]) == (421, "421 4.3.2")
    assert await client.reply() == (0, "")
    await client.close()


async def test_transaction_in_flight_completes_with_250(smtp, mailbox, store):
    mbx, passphrase = mailbox
    client = await open_data(smtp, mbx)
    stopping = asyncio.create_task(smtp.stop(60))
    await asyncio.sleep(0)  # stop() has closed the listener and is waiting
    assert smtp.stopping
    with pytest.raises(OSError):
        await asyncio.open_connection(*smtp.address())
    await client.send(BODY[len(BODY) // 2 :] + b".\r\n")
    assert (await client.reply())[0] == 250
    assert (await client.reply())[0] == 421  # then the session is closed
    await stopping
    await client.close()
    assert split_trace(stored(store, mbx, passphrase)[0])[1] == BODY


async def test_transaction_past_the_grace_period_leaves_nothing(smtp, mailbox, store, data_dir):
    mbx, _ = mailbox
    client = await open_data(smtp, mbx)
    await smtp.stop(0.2)  # the client never finishes: it is cut off
    assert await client.closed_by_server()
    await client.close()
    assert store.messages.list(mbx.id) == [] and leftovers(data_dir) == []


async def test_no_new_transaction_once_stopping(smtp, mailbox):
    mbx, _ = mailbox
    busy = await open_data(smtp, mbx)
    other, _ = await RawClient.connect(smtp.address())
    await other.command("EHLO client.example")
    await other.command("MAIL FROM:<a@example.org>")  # in a transaction: not closed yet
    stopping = asyncio.create_task(smtp.stop(60))
    await asyncio.sleep(0)
    await other.send(b"RSET\r\nMAIL FROM:<b@example.org>\r\n")
    assert (await other.reply())[0] == 250
    code, text = await other.reply()  # no new transaction: told and closed
    assert (code, text[:9]) == (421, "421 4.3.2")
    assert await other.reply() == (0, "")
    await busy.send(b".\r\n")
    assert (await busy.reply())[0] == 250
    await stopping
    await busy.close()
    await other.close()
