"""AsyncStore: the store for the event loop, on a bounded thread pool (never blocks it).

The same areas as the Store (storage/contract/), awaited: `await astore.mailboxes.get(ref)`.
Several calls in one trip to the pool: `await astore.batch(lambda store: ...)`; an
action function `fn(store, ...)`: `await astore.act(fn, ...)`. Nothing outside storage/
reaches the synchronous store or the pool except through these.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

from ..contract import Store
from ..events import Listener
from ..mailbox_key import MailboxKey
from ..models import MessageInfo
from .areas import (
    AsyncAdmins,
    AsyncApiTokens,
    AsyncAuditLog,
    AsyncDomains,
    AsyncKeyring,
    AsyncLeases,
    AsyncLoginClients,
    AsyncMailboxes,
    AsyncMaintenance,
    AsyncMessages,
    AsyncRelays,
    AsyncRobots,
    AsyncSealing,
    AsyncSessions,
)
from .certificates import AsyncCertificates
from .pool import run_in

P = ParamSpec("P")
T = TypeVar("T")

_BATCH_BYTES = 256 * 1024


class AsyncStore:
    def __init__(self, store: Store, max_workers: int = 8) -> None:
        self._store = store
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="store")
        pool = self._executor
        self.domains = AsyncDomains(store.domains, pool)
        self.mailboxes = AsyncMailboxes(store.mailboxes, pool)
        self.keys = AsyncKeyring(store.keys, pool)
        self.messages = AsyncMessages(store.messages, pool, store.events)
        self.admins = AsyncAdmins(store.admins, pool)
        self.sessions = AsyncSessions(store.sessions, pool)
        self.tokens = AsyncApiTokens(store.tokens, pool)
        self.audit = AsyncAuditLog(store.audit, pool)
        self.login_clients = AsyncLoginClients(store.login_clients, pool)
        self.leases = AsyncLeases(store.leases, pool)
        self.relays = AsyncRelays(store.relays, pool)
        self.sealing = AsyncSealing(store.sealing, pool)
        self.robots = AsyncRobots(store.robots, pool)
        self.certificates = AsyncCertificates(store.certificates, pool)
        self.maintenance = AsyncMaintenance(store.maintenance, pool)

    async def batch(self, fn: Callable[[Store], T]) -> T:
        """`fn(store)` on the pool: several store calls for one trip (one thread hop)."""
        return await run_in(self._executor, fn, self._store)

    async def act(
        self, fn: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run an action function `fn(store, *args, **kwargs)` on the pool."""
        return await run_in(self._executor, fn, self._store, *args, **kwargs)

    async def run_long(
        self,
        executor: concurrent.futures.Executor,
        fn: Callable[Concatenate[Store, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`fn(store, ...)` on the caller's own `executor`: for jobs that hold a thread
        for long on network I/O (a fetch-source run) and must not take the store pool's
        threads from everyone else."""
        return await run_in(executor, fn, self._store, *args, **kwargs)

    def submit(
        self, fn: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        """Start `fn(store, ...)` on the pool and return its future at once, for a caller
        that pipelines jobs or must let a started job finish (gateway/smtp/copies.py)."""
        return self._executor.submit(fn, self._store, *args, **kwargs)

    def subscribe(self, mailbox_id: str, listener: Listener) -> Callable[[], None]:
        """Change notifications of a mailbox (storage/events.py); returns unsubscribe.
        The listener runs on the committing thread: it must be cheap and thread-safe."""
        return self._store.events.subscribe(mailbox_id, listener)

    async def iter_message(
        self, key: MailboxKey, message: MessageInfo
    ) -> AsyncGenerator[bytes, None]:
        """Plaintext chunks of a message, decrypted off the loop ~256 KiB per hop.

        Raises MessageDamaged (possibly after yielding): the caller must then abort.
        """
        iterator = self._store.messages.read(key, message)

        def next_batch() -> tuple[list[bytes], bool]:
            batch: list[bytes] = []
            size = 0
            for chunk in iterator:
                batch.append(chunk)
                size += len(chunk)
                if size >= _BATCH_BYTES:
                    return batch, False
            return batch, True

        try:
            while True:
                batch, done = await run_in(self._executor, next_batch)
                for chunk in batch:
                    yield chunk
                if done:
                    return
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                await run_in(self._executor, close)

    def close(self, *, close_store: bool = True) -> None:
        """Wait for running calls, stop the pool, and close the store unless told not to
        (a caller that opened the store itself closes it itself)."""
        self._executor.shutdown(wait=True)
        if close_store:
            self._store.close()


__all__ = ["AsyncStore"]
