"""Memory does not grow with message size: DATA is streamed, never buffered whole."""

from __future__ import annotations

import asyncio
import tracemalloc

from .helpers import client_in_data, split_trace, stored

MiB = 1 << 20


async def send_big(service, mbx, client_tls, size: int, line: bytes) -> int:
    client = await client_in_data(service.address(), client_tls, mbx.address)
    chunk = line * (MiB // len(line))
    await client.send(b"Subject: big\r\n\r\n")
    for _ in range(size // len(chunk)):
        await client.send(chunk)
    await client.send(b".\r\n")
    code = (await client.reply())[0]
    await client.close()
    return code


async def test_python_memory_is_independent_of_message_size(smtp, mailbox, store, client_tls):
    mbx, passphrase = mailbox
    line = b"0123456789abcdef" * 4 + b"\r\n"
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        codes = await asyncio.gather(
            *(send_big(smtp, mbx, client_tls, 24 * MiB, line) for _ in range(2))
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert codes == [250, 250]
    # Two 24 MiB messages in flight at once; a buffering server would need > 48 MiB.
    assert peak - baseline < 16 * MiB, f"peak grew by {(peak - baseline) / MiB:.1f} MiB"
    chunk_size = MiB // len(line) * len(line)
    expected = len(b"Subject: big\r\n\r\n") + 24 * chunk_size
    assert [len(split_trace(m)[1]) for m in stored(store, mbx, passphrase)] == [expected] * 2
