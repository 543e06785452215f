"""Answer accepted mail with the mailbox's robot, after the 250, from memory.

The SMTP session schedules one task per accepted message (`schedule`) once it has
sent 250: the message is durable by then, and the reply is built from the envelope
sender and the header section held in memory (never read back from the store, never
queued on disk). A crash or restart before the task ends costs that reply, never the
message. Replies go through the smarthost (gateway/outbound/smarthost.py) with the
null envelope sender; each outcome is counted in `robot_replies_total{result,reason}`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from storage import SealError
from storage.robot_rules import DAY, Robot

from ..context import GatewayContext
from ..outbound.smarthost import RelayDisabled, RelayError, send_message
from .reply import build_reply
from .rules import parse_header, suppression

log = logging.getLogger("gateway.robots")

OUTSIDE_WINDOW = "outside_window"
ALREADY_REPLIED = "already_replied"
NO_SEAL_KEY = "no_seal_key"


@dataclass(frozen=True)
class Accepted:
    """What a robot may know of one accepted message (held in memory only)."""

    sender: str  # MAIL FROM, "" for the null sender
    header: bytes  # the top-level header section as received
    recipients: tuple[tuple[str, str], ...]  # (mailbox id, the RCPT address it came to)


class RobotResponder:
    def __init__(self, ctx: GatewayContext) -> None:
        self._ctx = ctx
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, accepted: Accepted) -> None:
        """Start answering in the background (the SMTP session does not wait)."""
        task = asyncio.get_running_loop().create_task(self._answer_all(accepted))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self, grace: float) -> None:
        """Let replies under way finish for `grace` seconds; the rest are not sent."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=max(grace, 0.0))
        for task in pending:
            task.cancel()
        if pending:
            log.warning("robots: %d replies not sent at shutdown", len(pending))

    async def _answer_all(self, accepted: Accepted) -> None:
        try:
            store = self._ctx.store
            robots = [(m, a, await store.robots.get(m)) for m, a in accepted.recipients]
            wanted = [(m, a, r) for m, a, r in robots if r is not None]
            if not wanted:
                return
            fields = parse_header(accepted.header)
            own = {d.name for d in await store.domains.list()}
            for mailbox_id, address, robot in wanted:
                await self._answer(accepted.sender, fields, own, mailbox_id, address, robot)
        except Exception as exc:  # a reply is never worth more than a log line
            log.error("robots: answering failed (%s)", type(exc).__name__, exc_info=exc)

    async def _answer(
        self,
        sender: str,
        fields: dict[str, list[str]],
        own: set[str],
        mailbox_id: str,
        address: str,
        robot: Robot,
    ) -> None:
        now = time.time()
        reason = None if robot.active(now) else OUTSIDE_WINDOW
        reason = reason or suppression(sender, fields, own)
        if reason is None:
            reason = await self._claim(mailbox_id, sender, now, robot)
        if reason is not None:
            self._count("suppressed", reason, mailbox_id)
            return
        reply = build_reply(robot, address.lower(), sender, fields, self._ctx.hostname)
        try:
            await send_message(self._ctx.settings, "", [sender], reply)
        except RelayError as exc:
            kind = (
                "disabled"
                if isinstance(exc, RelayDisabled)
                else ("temporary" if exc.temporary else "refused")
            )
            log.warning("robots: reply of %s not sent (%s)", mailbox_id, exc)
            self._count("failed", kind, mailbox_id)
            await self._ctx.store.robots.release_reply(mailbox_id, sender, now)
            return
        self._count("sent", "ok", mailbox_id)
        if robot.copy_to:
            try:
                await send_message(self._ctx.settings, "", [robot.copy_to], reply)
            except RelayError as exc:
                log.warning("robots: copy of a reply of %s not sent (%s)", mailbox_id, exc)

    async def _claim(self, mailbox_id: str, sender: str, now: float, robot: Robot) -> str | None:
        """None when this sender may be answered now (and is remembered as answered)."""
        try:
            fresh = await self._ctx.store.robots.claim_reply(
                mailbox_id, sender, now, robot.interval_days * DAY
            )
        except SealError as exc:
            log.error("robots: no reply memory without the seal key: %s", exc)
            return NO_SEAL_KEY
        return None if fresh else ALREADY_REPLIED

    def _count(self, result: str, reason: str, mailbox_id: str) -> None:
        self._ctx.metrics.robot_replies.labels(result=result, reason=reason).inc()
        log.info("robots: mailbox=%s result=%s reason=%s", mailbox_id, result, reason)
