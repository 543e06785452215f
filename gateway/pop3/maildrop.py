"""A POP3 session's view of its mailbox, and its one-session-per-mailbox lock.

The lock is the store lease `pop3:<mailbox id>` (storage/contract/leases.py), so it
holds across every worker process (and node) on the store: a second session anywhere
gets [IN-USE]. The session renews it every third of pop3.lock_ttl; a worker killed
mid-session stops renewing, and the mailbox is free again once the ttl has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from storage import ListedMessage, MailboxKey, MessageInfo
from storage.async_store import AsyncStore

log = logging.getLogger("gateway.pop3")


def lease_name(mailbox_id: str) -> str:
    return f"pop3:{mailbox_id}"


class MaildropLock:
    """One session's hold on its mailbox: taken at login, renewed, released at the end.

    `on_lost` runs when a renewal finds the lease gone (this process stalled past the
    ttl and another session took the mailbox): the session must end without UPDATE.
    """

    def __init__(
        self, store: AsyncStore, mailbox_id: str, ttl: float, on_lost: Callable[[], None]
    ) -> None:
        self.mailbox_id = mailbox_id
        self.name = lease_name(mailbox_id)
        self.owner = f"{os.getpid()}:{secrets.token_hex(8)}"  # this worker, this session
        self._store, self._ttl, self._on_lost = store, ttl, on_lost
        self._renewer: asyncio.Task[None] | None = None

    async def acquire(self) -> bool:
        if not await self._store.leases.acquire(self.name, self.owner, self._ttl):
            return False
        self._renewer = asyncio.create_task(self._keep())
        return True

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                held = await self._store.leases.renew(self.name, self.owner, self._ttl)
            except Exception:  # a busy or failing index: try again at the next turn
                log.warning("pop3 %s: renewing the mailbox lock failed", self.mailbox_id)
                continue
            if not held:
                log.warning("pop3 %s: mailbox lock lost; ending the session", self.mailbox_id)
                self._on_lost()
                return

    async def release(self) -> None:
        """Stop renewing and free the mailbox (if that fails, the ttl frees it)."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        try:
            await self._store.leases.release(self.name, self.owner)
        except Exception:
            log.warning("pop3 %s: releasing the mailbox lock failed", self.mailbox_id)


@dataclass
class Maildrop:
    """The messages present at login, numbered from 1, and the deletion marks.

    Messages that this key cannot read (sealed under an earlier passphrase) or whose
    size is unknown (a damaged adopted file) are not offered.
    """

    mailbox_id: str
    messages: list[ListedMessage]
    deleted: set[int] = field(default_factory=set)
    page: dict[str, MessageInfo] = field(default_factory=dict)  # whole rows read ahead

    @classmethod
    def snapshot(cls, mailbox_id: str, key: MailboxKey, listed: list[ListedMessage]) -> Maildrop:
        offered = [m for m in listed if key.can_read(m.epoch) and m.size >= 0]
        hidden = len(listed) - len(offered)
        if hidden:
            log.warning(
                "pop3 %s: %d messages not offered (sealed under an earlier passphrase, or damaged)",
                mailbox_id,
                hidden,
            )
        return cls(mailbox_id, offered)

    def whole(self, listed: ListedMessage) -> MessageInfo | None:
        """The whole row of `listed` if the read-ahead page holds it (see read_ahead)."""
        return self.page.get(listed.id)

    def read_ahead(self, rows: list[MessageInfo]) -> None:
        """Keep one page of whole rows: archivers RETR in order, so one store job serves
        the next READ_AHEAD RETRs instead of one job each; memory stays one page."""
        self.page = {m.id: m for m in rows}

    def get(self, number: int) -> ListedMessage | None:
        """Message `number` (1-based) unless it does not exist or is marked deleted."""
        if number < 1 or number > len(self.messages) or number in self.deleted:
            return None
        return self.messages[number - 1]

    def exists(self, number: int) -> bool:
        return 1 <= number <= len(self.messages)

    def live(self) -> list[tuple[int, ListedMessage]]:
        return [(n, m) for n, m in enumerate(self.messages, 1) if n not in self.deleted]

    def stat(self) -> tuple[int, int]:
        if not self.deleted:  # every login asks: no per-message tuples for a fresh drop
            return len(self.messages), sum(m.size for m in self.messages)
        live = self.live()
        return len(live), sum(m.size for _, m in live)

    def mark_deleted(self, number: int) -> None:
        self.deleted.add(number)

    def reset(self) -> None:
        self.deleted.clear()

    def marked_ids(self) -> list[str]:
        return [self.messages[n - 1].id for n in sorted(self.deleted)]
