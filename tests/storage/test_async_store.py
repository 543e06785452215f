"""AsyncStore: store calls and message streaming run off the event loop."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from storage import MessageDamaged, NotFound, WrongPassphrase, open_store
from storage.async_store import AsyncStore
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF

from .helpers import deliver, pattern


def open_paths() -> set[str]:
    """What this process has open, from /proc/self/fd (Linux; the test is skipped elsewhere)."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd (Linux) to see which files the process has open")
    paths = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            paths.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return paths


@pytest.fixture
async def astore(store):
    wrapped = AsyncStore(store, max_workers=4)
    yield wrapped
    wrapped.close(close_store=False)


async def test_calls_run_on_the_store_threads(astore) -> None:
    loop_thread = threading.current_thread().name
    name = await astore.batch(lambda store: threading.current_thread().name)
    assert name.startswith("store") and name != loop_thread
    await astore.domains.add("example.test")
    box, passphrase = await astore.mailboxes.create("example.test", actor=None)
    assert (await astore.mailboxes.get(box.id)).id == box.id
    with pytest.raises(NotFound):
        await astore.mailboxes.get("nobody@example.test")
    with pytest.raises(WrongPassphrase):
        await astore.keys.unlock(box.id, "00000-00000-00000-00000-00000-00000")


async def test_loop_stays_responsive_while_argon2_runs(astore) -> None:
    await astore.domains.add("example.test")
    box, passphrase = await astore.mailboxes.create("example.test", actor=None)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    keys = await asyncio.gather(*(astore.keys.unlock(box.id, passphrase) for _ in range(4)))
    task.cancel()
    assert all(k.can_read(1) for k in keys)
    # Blocking derivations would leave the ticker a handful of turns; it got many.
    assert ticks > 50


async def test_iter_message_streams_whole_message(astore, store) -> None:
    await astore.domains.add("example.test")
    box, passphrase = await astore.mailboxes.create("example.test", actor=None)
    body = b"Subject: big\r\n\r\n" + pattern(1_000_000, b"async")
    info = await astore.act(deliver, box.id, body, "random")
    key = await astore.keys.unlock(box.id, passphrase)
    chunks = [chunk async for chunk in astore.iter_message(key, info)]
    assert b"".join(chunks) == body
    assert max(len(c) for c in chunks) <= 64 * 1024


async def test_iter_message_raises_on_damage(astore, store) -> None:
    await astore.domains.add("example.test")
    box, passphrase = await astore.mailboxes.create("example.test", actor=None)
    body = pattern(600_000, b"damaged")
    info = await astore.act(deliver, box.id, body)
    path = store.data_dir / info.path
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    path.write_bytes(bytes(damaged))
    key = await astore.keys.unlock(box.id, passphrase)
    released = bytearray()
    with pytest.raises(MessageDamaged):
        async for chunk in astore.iter_message(key, info):
            released += chunk
    assert body.startswith(bytes(released)) and len(released) < len(body)


async def test_iter_message_can_stop_early(astore, store) -> None:
    await astore.domains.add("example.test")
    box, passphrase = await astore.mailboxes.create("example.test", actor=None)
    info = await astore.act(deliver, box.id, pattern(2_000_000, b"early"))
    key = await astore.keys.unlock(box.id, passphrase)
    stream = astore.iter_message(key, info)
    first = await stream.__anext__()
    assert first
    blob = str((store.data_dir / info.path).resolve())
    assert blob in open_paths()  # the file is open while streaming
    await stream.aclose()  # closes the decrypting generator on the store thread
    assert blob not in open_paths()
    # The store is still usable afterwards.
    assert (await astore.messages.get(box.id, info.id)).id == info.id


async def test_wait_for_change_wakes_for_a_delivery_made_through_another_store(
    astore, store, data_dir, mailbox
) -> None:
    """Another store on the same directory stands for another worker process."""
    box, _ = mailbox
    seen = await astore.messages.change_seq(box.id)
    waiting = asyncio.ensure_future(astore.messages.wait_for_change(box.id, seen, poll=0.05))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    other = open_store(data_dir, kdf=FAST_KDF, sealer=default_sealer(data_dir))
    try:
        await asyncio.to_thread(deliver, other, box.id, b"Subject: x\r\n\r\nbody\r\n")
    finally:
        other.close()
    assert await asyncio.wait_for(waiting, 5) > seen
    store.mailboxes.delete(box.id, force=True)
    with pytest.raises(NotFound):
        await astore.messages.wait_for_change(box.id, seen, poll=0.05)
