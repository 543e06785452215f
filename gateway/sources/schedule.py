"""`serve`'s fetch-source scheduler: each active source on its interval, a failing one
backed off, at most `concurrency` runs at once, each in its own thread.

A run holds a lease in the store (`fetch:<source id>`, taken by the fetcher), so with
several workers or nodes — each running this scheduler — a source is fetched by one of
them at a time; the others find it busy and move on. One slow source holds one slot
and never delays the others' turns. After a failure the next run waits
interval × 2^(failures−1), capped at `max_backoff`, times a jitter in [0.5, 1] fixed
per source and failure count (so workers agree and the wait does not wander).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from storage.sources import Source

from .fetch import Fetcher, FetchOptions

log = logging.getLogger("gateway.sources")


def next_run(source: Source, max_backoff: float) -> float:
    """When the source is due (Unix time): at once if it never ran."""
    if source.last_run is None:
        return 0.0
    interval = float(source.settings.interval)
    if not source.failures:
        return source.last_run + interval
    wait = min(max_backoff, interval * 2 ** min(source.failures - 1, 30))
    jitter = random.Random(f"{source.id}:{source.failures}").uniform(0.5, 1.0)
    return source.last_run + max(interval / 2, wait * jitter)


class SourceScheduler:
    def __init__(
        self,
        astore: Any,
        options: FetchOptions,
        *,
        concurrency: int,
        max_backoff: float,
        metrics: Any = None,
        poll: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._astore = astore
        self._options = options
        self._metrics = metrics
        self._concurrency = concurrency
        self._max_backoff = max_backoff
        self._poll = poll
        self._clock = clock
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="fetch")
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._stopping = threading.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="fetch-sources")

    async def _loop(self) -> None:
        while True:
            try:
                await self._tick()
            except Exception as exc:  # the store briefly unavailable: try again next poll
                log.error("fetch scheduler: %s", type(exc).__name__, exc_info=exc)
            await asyncio.sleep(self._poll)

    async def _tick(self) -> None:
        sources = await self._astore.batch(lambda store: store.sources.list())
        now = self._clock()
        due = [
            s
            for s in sources
            if s.active and s.id not in self._running and next_run(s, self._max_backoff) <= now
        ]
        due.sort(key=lambda s: next_run(s, self._max_backoff))
        for source in due[: max(0, self._concurrency - len(self._running))]:
            task = asyncio.create_task(self._run(source), name=f"fetch-{source.id}")
            self._running[source.id] = task

    async def _run(self, source: Source) -> None:
        try:
            await self._astore.run_long(self._executor, self._fetch, source)
        except Exception as exc:
            log.error("fetch source %s: %s", source.id, type(exc).__name__, exc_info=exc)
        finally:
            self._running.pop(source.id, None)

    def _fetch(self, store: Any, source: Source) -> Any:
        fetcher = Fetcher(store, self._options, self._metrics, self._stopping)
        return fetcher.run(store.sources.get(source.id))  # the latest settings

    async def stop(self, grace: float) -> None:
        """Stop starting runs; running ones finish their message and stop (within grace)."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
        running = list(self._running.values())
        if running:
            await asyncio.wait(running, timeout=max(grace, 0.1))
        self._executor.shutdown(wait=False, cancel_futures=True)
