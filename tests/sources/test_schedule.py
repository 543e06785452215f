"""The scheduler: intervals, capped jittered exponential back-off, and a slow source
that never delays the others."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import replace

from gateway.sources.fetch import FetchOptions
from gateway.sources.schedule import SourceScheduler, next_run
from storage.async_store import AsyncStore
from storage.sources import Source, checked_settings

from .conftest import add_source
from .test_fetch import message


def _source(**changes) -> Source:
    settings = checked_settings(protocol="imap", host="h", username="u", interval=300)
    base = Source("src-a", "mbx-a", "n", settings, True, "", 0.0, last_run=1000.0)
    return replace(base, **changes)


def test_a_source_is_due_at_once_then_every_interval():
    assert next_run(_source(last_run=None), 3600) == 0.0
    assert next_run(_source(), 3600) == 1300.0


def test_failures_back_off_exponentially_capped_and_jittered():
    waits = [next_run(_source(failures=n), 3600) - 1000.0 for n in range(1, 9)]
    for n, wait in enumerate(waits[:4], start=1):
        assert 300 * 2 ** (n - 1) * 0.5 <= wait <= 300 * 2 ** (n - 1)
    assert all(wait <= 3600 for wait in waits) and waits[-1] >= 1800
    assert waits == [next_run(_source(failures=n), 3600) - 1000.0 for n in range(1, 9)]
    others = [next_run(_source(id="src-b", failures=n), 3600) - 1000.0 for n in range(1, 9)]
    assert others != waits  # the jitter differs between sources


class SilentServer:
    """Accepts connections and never says a word: a source stuck until the timeout."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


async def test_a_slow_source_does_not_hold_up_the_others(store, mailbox, account, ca_pem):
    silent = SilentServer()
    slow = add_source(store, mailbox, account, "pop3", "pop3s", name="slow", port=silent.port)
    account.put(message(1))
    good = add_source(store, mailbox, account, "imap", "imaps", ca_file=str(ca_pem))
    astore = AsyncStore(store, max_workers=2)
    options = FetchOptions(hostname="gateway.test", timeout=8)
    scheduler = SourceScheduler(astore, options, concurrency=2, max_backoff=60, poll=0.1)
    started = time.monotonic()
    scheduler.start()
    try:
        while store.sources.get(good.id).last_run is None:  # recorded at the run's end
            assert time.monotonic() - started < 6, "the good source waited for the slow one"
            await asyncio.sleep(0.05)
        assert len(store.messages.list(mailbox[0].id)) == 1
        assert store.sources.get(slow.id).last_run is None  # still stuck in its greeting
        assert store.sources.get(good.id).last_count == 1
        while store.sources.get(slow.id).last_run is None:
            assert time.monotonic() - started < 20
            await asyncio.sleep(0.1)
        stuck = store.sources.get(slow.id)
        assert stuck.failing and "did not answer in time" in stuck.last_error
    finally:
        await scheduler.stop(1)
        silent.close()
        astore.close(close_store=False)
