"""gateway.retrieval.LineConnection on its own: limits, exact reads, EOF and half-close.

The protocols' own tests (tests/pop3, tests/imap) cover STLS/STARTTLS dropping
pipelined cleartext; these pin the reading rules both protocols rely on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from gateway.retrieval import ConnectionClosed, LineConnection, LineTooLong

Serve = Callable[[LineConnection], Awaitable[None]]


async def exchange(serve: Serve, sent: bytes, half_close: bool = False) -> bytes:
    """Run `serve` on the server side of one loopback connection; `sent` is written
    by the client, which then shuts down its sending side and reads to the end."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def run(conn: LineConnection) -> None:
        try:
            await serve(conn)
        finally:
            conn.close()
            done.set_result(None)

    def ready(conn: LineConnection) -> None:
        asyncio.get_running_loop().create_task(run(conn))

    server = await asyncio.get_running_loop().create_server(
        lambda: LineConnection(ready, half_close=half_close), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(sent)
    writer.write_eof()
    received = await asyncio.wait_for(reader.read(), 10)
    await asyncio.wait_for(done, 10)
    writer.close()
    server.close()
    await server.wait_closed()
    return received


async def test_the_limit_counts_the_line_ending() -> None:
    async def serve(conn: LineConnection) -> None:
        assert await conn.read_line(6) == b"abcd\r\n"
        with pytest.raises(LineTooLong) as too_long:
            await conn.read_line(6)
        assert too_long.value.head == b"abcde\r\n"
        assert await conn.read_line(6) == b"ok\n"  # the long line was consumed whole
        with pytest.raises(ConnectionClosed):
            await conn.read_line(6)  # a partial last line is not a line

    await exchange(serve, b"abcd\r\nabcde\r\nok\npartial")


async def test_an_endless_line_keeps_only_its_head() -> None:
    async def serve(conn: LineConnection) -> None:
        with pytest.raises(LineTooLong) as too_long:
            await conn.read_line(1024)
        assert too_long.value.head == b"x" * 200
        assert await conn.read_line(1024) == b"next\r\n"

    await exchange(serve, b"x" * 300_000 + b"\r\nnext\r\n")


async def test_exact_reads_span_chunks_and_stop_at_the_end() -> None:
    async def serve(conn: LineConnection) -> None:
        assert await conn.read_line(100) == b"{200000}\r\n"
        assert await conn.read_exactly(200_000) == b"y" * 200_000
        with pytest.raises(ConnectionClosed):
            await conn.read_exactly(1)

    await exchange(serve, b"{200000}\r\n" + b"y" * 200_000)


@pytest.mark.parametrize("half_close", [True, False])
async def test_half_close_decides_whether_pipelined_commands_get_answers(
    half_close: bool,
) -> None:
    async def serve(conn: LineConnection) -> None:
        await asyncio.sleep(0.1)  # the client's EOF has arrived by now
        while True:
            try:
                line = await conn.read_line(100)
            except ConnectionClosed:
                return
            try:
                await conn.send(b"echo " + line)
            except ConnectionClosed:
                return

    received = await exchange(serve, b"one\r\ntwo\r\n", half_close=half_close)
    assert received == (b"echo one\r\necho two\r\n" if half_close else b"")
