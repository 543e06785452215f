"""The blocking raw client's own checks can fail: `closed_by_server` tells open from closed."""

from __future__ import annotations

import asyncio

from .conftest import Pop3Server, RawClient


async def test_an_open_session_is_not_reported_closed(pop3: Pop3Server) -> None:
    def session() -> None:
        client = RawClient(pop3.stls_port)
        assert not client.closed_by_server(within=0.5)
        assert client.cmd("NOOP").startswith("-ERR")  # still open, still answering
        assert client.cmd("QUIT") == "+OK bye"
        assert client.closed_by_server()
        client.close()

    await asyncio.to_thread(session)


async def test_a_last_reply_left_unread_still_counts_as_closed(pop3: Pop3Server) -> None:
    def session() -> None:
        client = RawClient(pop3.stls_port)
        client.send("QUIT\r\n")  # "+OK bye" is left unread
        assert client.closed_by_server(within=5)
        client.close()

    await asyncio.to_thread(session)
