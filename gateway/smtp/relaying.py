"""One SMTP transaction's relay copies: a smarthost transaction per relay target, fed
the same bytes as the local copies while DATA streams in (README: Relay copies and
robots). Nothing is queued on disk: a copy that cannot go out now is either retried by
the sender (`required`: 4xx, and the local copy is not kept either) or counted as
missed (`best-effort`: logged without content, audited, the local copy acknowledged).

The connections are opened when DATA starts, concurrently with receiving the header
section; the loop checks need that section (hop count, our own chain mark), so the
first bytes are held until it is complete (at most journal.MAX_HEADER_BYTES). At the
end of DATA every target still open gets its end-of-data, and the reply is awaited
before the sender hears anything. Targets that already took this message (same
Message-ID and size, remembered as keyed digests) are closed without an end of data,
so a sender's retry after a 4xx reaches nobody twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from storage import Store
from storage.actions import AuditAction
from storage.models import Mailbox, RelayTarget
from storage.relay import REQUIRED, SENT_MEMORY_SECONDS, is_own

from ..context import GatewayContext
from ..outbound.smarthost import (
    RelayDisabled,
    RelayError,
    Smarthost,
    SmarthostTransaction,
    open_transaction,
)
from .journal import MAX_HEADER_BYTES
from .relay_headers import HeaderFacts, header_facts, relay_prefix
from .trace import Arrival
from .txlog import Transaction

log = logging.getLogger("gateway.relay")
AUDIT_ACTOR = "smtp"
SLACK_BYTES = 4096  # our prefix lines, in the SIZE= given to the smarthost


@dataclass
class Link:
    """One relay target's copy of this message."""

    mailbox: Mailbox
    target: RelayTarget
    opening: asyncio.Task[SmarthostTransaction] | None = None
    transaction: SmarthostTransaction | None = None
    result: str = ""  # sent, failed, duplicate, loop (empty while undecided)
    reason: str = ""  # why it failed, for the log and audit (no content, no address)
    temporary: bool = True

    @property
    def live(self) -> bool:
        return self.transaction is not None and not self.result

    @property
    def required(self) -> bool:
        return self.target.policy == REQUIRED


@dataclass
class RelayOutcome:
    deferred: bool  # a required target did not take it: answer 4xx, keep nothing
    links: list[Link] = field(default_factory=list)


class RelaySet:
    """Create with `prepare`; then start, write (every block), finish or abort."""

    def __init__(
        self,
        ctx: GatewayContext,
        tx: Transaction,
        arrival: Arrival,
        links: list[Link],
        marks: dict[str, str],
    ) -> None:
        self._ctx = ctx
        self._tx = tx
        self._arrival = arrival
        self.links = links
        self._marks = marks  # mailbox id -> chain mark
        self._held = bytearray()  # the header section, until the loop checks are done
        self._decided = False
        self.facts = HeaderFacts()
        self.finished = False

    @classmethod
    async def prepare(
        cls, ctx: GatewayContext, tx: Transaction, arrival: Arrival
    ) -> RelaySet | None:
        """The relay set of the transaction's mailboxes, or None when none relays.

        The RCPT hop already asked whether each mailbox has relay targets; when none
        had, there is no store call here (the common case costs nothing). Otherwise the
        targets are read afresh, as of DATA. A target added between RCPT and DATA
        applies from the next transaction, as if the message had come a moment earlier.
        """
        if not tx.relaying:
            return None
        mailboxes = list(tx.mailboxes.values())

        def load(store: Store) -> tuple[list[Link], dict[str, str]]:
            links, marks = [], {}
            for mailbox in mailboxes:
                targets = store.relays.list(mailbox.id)
                if targets:
                    marks[mailbox.id] = store.relays.chain_mark(mailbox.id)
                links += [Link(mailbox, target) for target in targets]
            accepted = {domain.name for domain in store.domains.list()} if links else set()
            for link in links:  # a domain accepted since the target was added
                if is_own(link.target.address, accepted):
                    link.result, link.reason = "loop", "the target is in an accepted domain"
            return links, marks

        links, marks = await ctx.store.batch(load)
        return cls(ctx, tx, arrival, links, marks) if links else None

    def start(self) -> None:
        """Open every target's smarthost transaction, in the background."""
        try:
            smarthost = Smarthost.from_settings(self._ctx.settings, self._ctx.hostname)
        except ValueError as exc:  # the AUTH password cannot be read
            self._fail_all(RelayError(str(exc), temporary=True))
            return
        if smarthost is None:
            self._fail_all(RelayDisabled())
            return
        size = self._tx.declared_size + SLACK_BYTES if self._tx.declared_size else None
        for link in self.links:
            if link.result:
                continue
            sender, recipients = link.mailbox.address, [link.target.address]
            link.opening = asyncio.create_task(
                open_transaction(smarthost, sender, recipients, size)
            )

    async def write(self, data: bytes) -> None:
        """Stream message bytes to every live target (after the header checks)."""
        if self._decided:
            await self._each_live(lambda link: _transaction(link).write(data))
            return
        self._held += data
        end = self._held.find(b"\r\n\r\n")
        if self._held.startswith(b"\r\n") or end >= 0 or len(self._held) >= MAX_HEADER_BYTES:
            await self._decide(end)

    async def finish(self, size: int) -> RelayOutcome:
        """End DATA at every target not yet served and wait for the replies."""
        if not self._decided:
            await self._decide(self._held.find(b"\r\n\r\n"))
        message_key = f"{self.facts.message_id}\0{size}" if self.facts.message_id else ""
        await self._skip_duplicates(message_key)
        await self._each_live(lambda link: _transaction(link).finish(), sent=True)
        self.finished = True
        await self._remember(message_key)
        await self._close_all()
        outcome = RelayOutcome(
            deferred=any(link.required and link.result == "failed" for link in self.links),
            links=self.links,
        )
        await self._account(outcome)
        return outcome

    async def abort(self) -> None:
        """Drop every connection without an end of data: no target keeps a copy."""
        for link in self.links:
            if link.opening is None:
                continue
            if not link.opening.done():
                link.opening.cancel()
            try:
                transaction = await link.opening
            except BaseException:  # noqa: S112 (cancelled or failed: nothing to close)
                continue
            if link.transaction is None:
                await transaction.close()
        await self._close_all()

    # --- the steps -------------------------------------------------------------------
    async def _decide(self, end: int) -> None:
        """The header section is in: refuse loops, then send what was held."""
        self._decided = True
        header = bytes(self._held[: end + 2]) if end >= 0 else bytes(self._held)
        self.facts = header_facts(header)
        limit = self._ctx.settings["relay.max_received"]
        for link in self.links:
            if link.result:
                continue
            if self.facts.received + 1 > limit:  # with ours, the copy would carry more
                link.result, link.reason = "loop", f"more than {limit} Received headers"
            elif self._marks[link.mailbox.id] in self.facts.chain_marks:
                link.result, link.reason = "loop", "this mailbox already relayed it"
        await self._await_open()
        held, self._held = bytes(self._held), bytearray()

        async def first(link: Link) -> None:
            prefix = relay_prefix(self._arrival, self._marks[link.mailbox.id])
            await _transaction(link).write(prefix + held)

        await self._each_live(first)

    async def _await_open(self) -> None:
        for link in self.links:
            if link.opening is None:
                continue
            try:
                transaction = await link.opening
            except RelayError as exc:
                self._fail(link, exc)
                continue
            except Exception as exc:  # an unexpected client error: a failed copy, not a crash
                self._fail(link, RelayError(type(exc).__name__, temporary=True))
                continue
            if link.result:  # a loop: this connection is not used
                await transaction.close()
            else:
                link.transaction = transaction

    async def _each_live(
        self, step: Callable[[Link], Awaitable[None]], *, sent: bool = False
    ) -> None:
        live = [link for link in self.links if link.live]

        async def run(link: Link) -> None:
            try:
                await step(link)
            except RelayError as exc:
                self._fail(link, exc)
                await _transaction(link).close()
                return
            if sent:
                link.result = "sent"

        await asyncio.gather(*(run(link) for link in live))

    async def _skip_duplicates(self, message_key: str) -> None:
        if not message_key:
            return
        by_mailbox: dict[str, list[Link]] = {}
        for link in self.links:
            if link.live:
                by_mailbox.setdefault(link.mailbox.id, []).append(link)
        for mailbox_id, links in by_mailbox.items():
            done = await self._ctx.store.relays.already_relayed(
                mailbox_id, message_key, [link.target.address for link in links]
            )
            for link in links:
                if link.target.address in done:
                    link.result = "duplicate"  # closed below without an end of data

    async def _remember(self, message_key: str) -> None:
        if not message_key:
            return
        expires = time.time() + SENT_MEMORY_SECONDS
        by_mailbox: dict[str, list[str]] = {}
        for link in self.links:
            if link.result == "sent":
                by_mailbox.setdefault(link.mailbox.id, []).append(link.target.address)
        for mailbox_id, targets in by_mailbox.items():
            try:
                await self._ctx.store.relays.remember_relayed(
                    mailbox_id, message_key, targets, expires
                )
            except Exception as exc:  # a retry may then reach these targets twice
                log.error("relay: remembering relayed copies failed (%s)", type(exc).__name__)

    async def _close_all(self) -> None:
        await asyncio.gather(
            *(link.transaction.close() for link in self.links if link.transaction is not None)
        )

    def _fail(self, link: Link, exc: RelayError) -> None:
        link.result, link.reason, link.temporary = "failed", str(exc), exc.temporary

    def _fail_all(self, exc: RelayError) -> None:
        for link in self.links:
            if not link.result:
                self._fail(link, exc)

    async def _account(self, outcome: RelayOutcome) -> None:
        """Count every copy; log and audit every one that did not go out."""
        metrics = self._ctx.metrics
        for link in outcome.links:
            result = link.result
            if result == "failed":
                result = "deferred" if link.required else "missed"
            metrics.relay_copies.labels(result=result).inc()
            if link.result in ("failed", "loop"):
                log.warning(
                    "relay: copy of mailbox %s to target %d not sent (%s, %s): %s",
                    link.mailbox.id,
                    outcome.links.index(link) + 1,
                    link.target.policy,
                    result,
                    link.reason,
                )
        missed = [link for link in outcome.links if link.result in ("failed", "loop")]
        if not missed or outcome.deferred:
            return  # a deferred message is retried by its sender: no miss yet
        await self._ctx.store.batch(lambda store: _audit_missed(store, missed, self._tx))


def _transaction(link: Link) -> SmarthostTransaction:
    assert link.transaction is not None
    return link.transaction


def _audit_missed(store: Any, missed: list[Link], tx: Transaction) -> None:
    for link in missed:
        detail = f"{link.target.address} {link.result}: {link.reason}"
        store.audit.record(
            AUDIT_ACTOR, str(AuditAction.RELAY_MISSED), link.mailbox.id, detail, tx.client_ip
        )
