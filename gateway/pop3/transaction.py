"""TRANSACTION-state commands: STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP.

A message sent whole (RETR, or TOP with enough lines to reach its end, as fetchmail's
keep mode does) counts as retrieved: the session flags it \\Seen when it ends, in one
index write, which is what retention rules measure "retrieved" by.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from storage import MailboxKey, MessageDamaged, MessageInfo, StoreError

from ..context import GatewayContext
from .engine import TRANSACTION, Pop3Engine, SessionEnded, command
from .maildrop import Maildrop
from .streaming import DotStuffer, TopFilter

log = logging.getLogger("gateway.pop3")

MAX_NUMBER_DIGITS = 20


def parse_number(text: str) -> int | None:
    """A non-negative decimal number, or None when `text` is not one."""
    if not text.isascii() or not text.isdigit() or len(text) > MAX_NUMBER_DIGITS:
        return None
    return int(text)


class TransactionCommands(Pop3Engine):
    ctx: GatewayContext
    key: MailboxKey | None
    maildrop: Maildrop
    retrieved: int  # messages sent whole (RETR, or a TOP that reached the end)
    retrieved_octets: int
    seen: set[str]  # ids sent whole and not yet \\Seen: flagged when the session ends

    # --- listings ----------------------------------------------------------------------
    @command(TRANSACTION)
    async def handle_STAT(self, arg: str) -> None:
        if arg:
            return self.syntax_error("STAT", "")
        count, octets = self.maildrop.stat()
        self.reply(f"+OK {count} {octets}")

    @command(TRANSACTION)
    async def handle_LIST(self, arg: str) -> None:
        self._listing("LIST", arg, lambda m: str(m.size))

    @command(TRANSACTION)
    async def handle_UIDL(self, arg: str) -> None:
        self._listing("UIDL", arg, lambda m: m.id)

    def _listing(self, verb: str, arg: str, value: Callable[[MessageInfo], str]) -> None:
        if not arg:
            count, octets = self.maildrop.stat()
            lines = (f"{n} {value(m)}" for n, m in self.maildrop.live())
            return self.reply_lines(f"+OK {count} messages ({octets} octets)", lines)
        found = self._message(verb, arg)
        if found is not None:
            self.reply(f"+OK {found[0]} {value(found[1])}")

    def _message(
        self, verb: str, arg: str, usage: str = "<message number>"
    ) -> tuple[int, MessageInfo] | None:
        """Resolve a message-number argument, replying with the error if it fails."""
        number = parse_number(arg)
        if number is None:
            self.syntax_error(verb, usage)
            return None
        message = self.maildrop.get(number)
        if message is None:
            deleted = self.maildrop.exists(number)
            self.reply(f"-ERR message {number} is deleted" if deleted else "-ERR no such message")
            return None
        return number, message

    # --- marks ---------------------------------------------------------------------------
    @command(TRANSACTION)
    async def handle_DELE(self, arg: str) -> None:
        found = self._message("DELE", arg)
        if found is not None:
            self.maildrop.mark_deleted(found[0])
            self.reply(f"+OK message {found[0]} deleted")

    @command(TRANSACTION)
    async def handle_RSET(self, arg: str) -> None:
        if arg:
            return self.syntax_error("RSET", "")
        self.maildrop.reset()
        count, octets = self.maildrop.stat()
        self.reply(f"+OK maildrop has {count} messages ({octets} octets)")

    @command(TRANSACTION)
    async def handle_NOOP(self, arg: str) -> None:
        if arg:
            return self.syntax_error("NOOP", "")
        self.reply("+OK")

    # --- retrieval -------------------------------------------------------------------------
    @command(TRANSACTION)
    async def handle_RETR(self, arg: str) -> None:
        found = self._message("RETR", arg)
        if found is not None:
            message = found[1]
            await self._send_message("RETR", message, f"+OK {message.size} octets", None)

    @command(TRANSACTION)
    async def handle_TOP(self, arg: str) -> None:
        usage = "<message number> <lines>"
        parts = arg.split(" ")
        lines = parse_number(parts[1]) if len(parts) == 2 else None
        if lines is None:
            return self.syntax_error("TOP", usage)
        found = self._message("TOP", parts[0], usage)
        if found is not None:
            await self._send_message("TOP", found[1], "+OK top of message follows", lines)

    async def _send_message(
        self, verb: str, message: MessageInfo, first: str, top_lines: int | None
    ) -> None:
        """Stream one message; on damage, drop the connection before the final '.'."""
        stuffer = DotStuffer()
        top = TopFilter(top_lines) if top_lines is not None else None
        self.reply(first)
        sent = 0
        try:
            chunks = self.ctx.store.iter_message(self.key, message)
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    data = top.feed(chunk) if top else chunk
                    self.conn.write(stuffer.feed(data))
                    sent += len(data)
                    await self.flush()
                    if top and top.done:
                        break
        except MessageDamaged:
            await self._damaged(verb, message)
        self.conn.write(stuffer.finish())
        self.retrieved_octets += sent
        if top is None or not top.done:  # the client now has the whole message
            self.retrieved += 1
            if "\\Seen" not in message.flags:
                self.seen.add(message.id)
        if top is None and sent != message.size:
            log.warning(
                "pop3 %s: message %s sent %d octets, index says %d",
                self.maildrop.mailbox_id,
                message.id,
                sent,
                message.size,
            )

    async def _damaged(self, verb: str, message: MessageInfo) -> None:
        """Log and audit (ids only), then drop the connection: no terminating '.'."""
        mailbox_id = self.maildrop.mailbox_id
        log.error(
            "pop3 %s: message %s failed authentication during %s; connection dropped",
            mailbox_id,
            message.id,
            verb,
        )
        counters = self.ctx.counters
        counters["pop3.damaged"] = counters.get("pop3.damaged", 0) + 1
        try:
            await self.ctx.store.audit(
                "retrieval", "pop3.message-damaged", mailbox_id, message.id, self.conn.peer_ip
            )
        except StoreError:
            log.warning("audit write failed for pop3.message-damaged")
        finally:
            self.conn.abort()
        raise SessionEnded()
