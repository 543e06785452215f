"""Exact sizes of adopted messages, found off the login path.

Reconciliation adopts a message file left by a crash with size -1: its plaintext
size is known only once a key opens it, and until then POP3 and IMAP do not offer
it (a listing must give exact sizes). Every login used to decrypt all such files of
its mailbox before answering. Now a login starts that work in the store's thread
pool and waits for it at most `wait` seconds: a few small orphans (the usual crash)
are still listed by the very session that logged in, while many or large ones no
longer hold a login for as long as they take to decrypt; they are offered from the
login after their fill finished. One fill per mailbox runs at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from storage import MailboxKey
from storage.async_store import AsyncStore

log = logging.getLogger("gateway.login")

# Long enough for the few small files a crash leaves behind, short next to a
# client's login timeout.
FILL_WAIT = 1.0


class AdoptedSizes:
    def __init__(self, store: AsyncStore, wait: float = FILL_WAIT) -> None:
        self.store = store
        self.wait = wait
        self._running: dict[str, asyncio.Task[None]] = {}

    async def settle(self, key: MailboxKey) -> None:
        """Fill the unknown sizes of `key`'s mailbox; return after at most `wait` s."""
        task = self._running.get(key.mailbox_id)
        if task is None:
            task = asyncio.create_task(self._fill(key))
            self._running[key.mailbox_id] = task
        with contextlib.suppress(TimeoutError):
            # shield: neither the timeout nor a client leaving stops the fill
            await asyncio.wait_for(asyncio.shield(task), self.wait)

    async def _fill(self, key: MailboxKey) -> None:
        try:
            fixed = await self.store.messages.fill_unknown_sizes(key)
        except Exception as exc:  # the next login tries again
            log.warning(
                "sizes of adopted messages in %s not found (%s)",
                key.mailbox_id,
                type(exc).__name__,
            )
        else:
            if fixed:
                log.info("found the size of %d adopted messages in %s", fixed, key.mailbox_id)
        finally:
            self._running.pop(key.mailbox_id, None)
