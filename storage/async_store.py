"""Run the synchronous store on a bounded thread pool so the event loop never blocks."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from .mailbox_key import MailboxKey
from .models import MessageInfo

_BATCH_BYTES = 256 * 1024
P = ParamSpec("P")
R = TypeVar("R")


class AsyncStore:
    """`await astore.method(...)` for any store method; `astore.sync` is the store itself."""

    def __init__(self, store: Any, max_workers: int = 8) -> None:
        self.sync = store
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="store")

    async def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    async def act(
        self, fn: Callable[Concatenate[Any, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run an admin action (storage/actions) on the pool: `fn(store, *args, **kwargs)`."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, self.sync, *args, **kwargs)
        return await loop.run_in_executor(self.executor, call)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.sync, name)
        if not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self.run(target, *args, **kwargs)

        call.__name__ = name
        return call

    async def iter_message(self, key: MailboxKey, message: MessageInfo) -> AsyncIterator[bytes]:
        """Plaintext chunks of a message, decrypted off the loop ~256 KiB per hop.

        Raises MessageDamaged (possibly after yielding): the caller must then abort.
        """
        iterator = self.sync.read_message(key, message)

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
                batch, done = await self.run(next_batch)
                for chunk in batch:
                    yield chunk
                if done:
                    return
        finally:
            await self.run(iterator.close)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.sync.close()
