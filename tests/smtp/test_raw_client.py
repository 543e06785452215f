"""The raw test client's own checks can fail: `closed_by_server` tells open from closed."""

from __future__ import annotations

import asyncio

from .helpers import RawClient


async def test_an_open_session_is_not_reported_closed(smtp):
    client, _ = await RawClient.connect(smtp.address())
    assert (await client.command("EHLO client.example"))[0] == 250
    assert not await asyncio.wait_for(client.closed_by_server(within=0.5), 5)
    assert (await client.command("NOOP"))[0] == 250  # still open, nothing lost
    await client.close()


async def test_a_session_the_server_ended_is_reported_closed(smtp):
    client, _ = await RawClient.connect(smtp.address())
    assert (await client.command("QUIT"))[0] == 221
    assert await asyncio.wait_for(client.closed_by_server(within=5), 10)
    await client.close()


async def test_a_reply_sent_before_the_close_still_counts_as_closed(smtp):
    client, _ = await RawClient.connect(smtp.address())
    await client.send(b"QUIT\r\n")  # the 221 is left unread
    assert await asyncio.wait_for(client.closed_by_server(within=5), 10)
    await client.close()
