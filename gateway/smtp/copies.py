"""One transaction's encrypted copies (one per mailbox), driven from the event loop.

Every store call runs on the store's thread pool, in as few hops as possible: the
copies are begun by the first write job (so their key encapsulation overlaps with
receiving data), and the last bytes are written by the commit job; a small message
costs one hop. Writes are pipelined one deep: while the pool seals one batch, the
session reads the next block, so at most two batches per transaction are in memory,
whatever the message size.

A job is never abandoned half-way: if the session is cancelled (client gone,
shutdown), the running job finishes first, then the cancellation goes on, and a copy
that was not committed is always removed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any

from storage import Store
from storage.async_store import AsyncStore
from storage.delivery import Delivery

log = logging.getLogger("gateway.smtp")

# Bytes gathered before a write job goes to the pool. Each job is a thread hop, a
# wake-up and a future; at 512 KiB a 5 MiB message makes ~10 instead of ~40. Memory per
# transaction stays bounded: at most two batches (this and one in flight) exist.
FLUSH_BYTES = 512 * 1024

# (mailbox id, function giving the trace headers for a new message id)
Target = tuple[str, Callable[[str], bytes]]


class CopySet:
    def __init__(self, store: AsyncStore, targets: list[Target]) -> None:
        self._store = store  # its jobs get the synchronous store, on its pool
        self._targets = targets
        self.deliveries: list[Delivery] = []
        self._begun = False
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._inflight: concurrent.futures.Future | None = None
        self.failed: BaseException | None = None
        self.committed = False
        self.aborted = False

    @property
    def message_ids(self) -> list[str]:
        return [d.message_id for d in self.deliveries]

    @property
    def writable(self) -> bool:
        return not (self.failed or self.aborted or self.committed)

    async def write(self, data: bytes) -> None:
        """Queue message bytes for every copy; a storage failure sets `failed`."""
        if not self.writable or not data:
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= FLUSH_BYTES:
            await self._wait_inflight()
            if self.writable:
                self._inflight = self._store.submit(self._write_sync, self._take_pending())

    async def commit(self) -> list[str]:
        """Make every copy durable and visible at once; raises (copies removed) if not."""
        await self._wait_inflight()
        if self.failed is not None:
            raise self.failed
        await self._uncancellable(self._commit_sync, self._take_pending())
        return self.message_ids

    async def abort(self) -> None:
        """Remove every uncommitted copy (waits for a write still running)."""
        if self.committed or self.aborted:
            return
        self.aborted = True
        self._pending = []
        await self._uncancellable(self._abort_sync)

    # --- on the event loop -----------------------------------------------------------
    def _take_pending(self) -> list[bytes]:
        chunks, self._pending, self._pending_size = self._pending, [], 0
        return chunks

    async def _wait_inflight(self) -> None:
        if self._inflight is None:
            return
        try:
            await asyncio.wrap_future(self._inflight)
        except asyncio.CancelledError:
            raise  # keep _inflight: abort() must wait for it
        except Exception as exc:  # reported as a 4xx after DATA
            log.error("smtp: writing a copy failed (%s)", type(exc).__name__, exc_info=exc)
            self.failed = exc
        self._inflight = None

    async def _uncancellable(self, func: Callable[..., None], *args: Any) -> None:
        future = asyncio.wrap_future(self._store.submit(func, *args))
        cancelled = False
        while not future.done():
            try:
                await asyncio.shield(future)
            except asyncio.CancelledError:
                cancelled = True  # let the job finish: a half-done store call is worse
            except Exception:  # re-raised by result() below
                break
        if cancelled:
            raise asyncio.CancelledError
        return future.result()

    # --- on the store's thread pool ----------------------------------------------------
    def _write_sync(self, store: Store, chunks: list[bytes]) -> None:
        if not self._begun:
            self._begin_sync(store)
        for delivery in self.deliveries:
            for chunk in chunks:
                delivery.write(chunk)

    def _begin_sync(self, store: Store) -> None:
        self._begun = True
        for mailbox_id, headers in self._targets:
            delivery = store.messages.begin_delivery(mailbox_id)
            self.deliveries.append(delivery)
            delivery.write(headers(delivery.message_id))

    def _commit_sync(self, store: Store, chunks: list[bytes]) -> None:
        try:
            self._write_sync(store, chunks)
            store.messages.commit_deliveries(self.deliveries)
        except BaseException:
            self._abort_sync(store)  # commit_deliveries removed the copies; the rest go too
            raise
        self.committed = True

    def _abort_sync(self, store: Store) -> None:
        if self._inflight is not None:
            concurrent.futures.wait([self._inflight])
        self.aborted = True
        for delivery in self.deliveries:
            try:
                delivery.abort()
            except Exception as exc:  # keep removing the others
                log.error("smtp: removing a copy failed (%s)", type(exc).__name__)
