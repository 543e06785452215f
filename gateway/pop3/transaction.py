"""TRANSACTION-state commands: STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP.

A message sent whole (RETR, or TOP with enough lines to reach its end, as fetchmail's
keep mode does) counts as retrieved: the session flags it \\Seen when it ends, in one
index write, which is what retention rules measure "retrieved" by.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from storage import ListedMessage, MessageDamaged, MessageInfo, StoreError
from storage.actions.audit import AuditAction

from .arguments import ListingArgs, MessageNumber, NoArgs, TopArgs
from .state import Pop3Session, SessionEnded
from .streaming import DotStuffer, TopFilter

log = logging.getLogger("gateway.pop3")
# Whole index rows read per store job ahead of RETR/TOP (the maildrop lists ids and sizes).
READ_AHEAD = 256


# --- listings ----------------------------------------------------------------------------
async def stat(s: Pop3Session, args: NoArgs) -> None:
    count, octets = s.drop.stat()
    s.reply(f"+OK {count} {octets}")


async def list_sizes(s: Pop3Session, args: ListingArgs) -> None:
    _listing(s, args, lambda message: message.size)


async def list_ids(s: Pop3Session, args: ListingArgs) -> None:
    _listing(s, args, lambda message: message.id)


def _listing(s: Pop3Session, args: ListingArgs, column: Callable[[ListedMessage], object]) -> None:
    """LIST and UIDL: one message's `column`, or every live message's, one per line."""
    if args.number is None:
        count, octets = s.drop.stat()
        lines = (f"{n} {column(m)}" for n, m in s.drop.live())
        return s.reply_lines(f"+OK {count} messages ({octets} octets)", lines)
    message = _message(s, args.number)
    if message is not None:
        s.reply(f"+OK {args.number} {column(message)}")


def _message(s: Pop3Session, number: int) -> ListedMessage | None:
    """Message `number`, or None after replying that it is deleted or does not exist."""
    message = s.drop.get(number)
    if message is None:
        deleted = s.drop.exists(number)
        s.reply(f"-ERR message {number} is deleted" if deleted else "-ERR no such message")
    return message


# --- marks -------------------------------------------------------------------------------
async def delete(s: Pop3Session, args: MessageNumber) -> None:
    if _message(s, args.number) is not None:
        s.drop.mark_deleted(args.number)
        s.reply(f"+OK message {args.number} deleted")


async def reset(s: Pop3Session, args: NoArgs) -> None:
    s.drop.reset()
    count, octets = s.drop.stat()
    s.reply(f"+OK maildrop has {count} messages ({octets} octets)")


async def noop(s: Pop3Session, args: NoArgs) -> None:
    s.reply("+OK")


# --- retrieval ---------------------------------------------------------------------------
async def retrieve(s: Pop3Session, args: MessageNumber) -> None:
    message = await _full_message(s, args.number)
    if message is not None:
        await _send_message(s, "RETR", message, f"+OK {message.size} octets", None)


async def top(s: Pop3Session, args: TopArgs) -> None:
    message = await _full_message(s, args.number)
    if message is not None:
        await _send_message(s, "TOP", message, "+OK top of message follows", args.lines)


async def _full_message(s: Pop3Session, number: int) -> MessageInfo | None:
    """The whole index row of message `number` (the maildrop holds the light listing),
    or None after replying why not: deleted, no such message, or expunged meanwhile
    by an IMAP client or an admin."""
    listed = _message(s, number)
    if listed is None:
        return None
    whole = s.drop.whole(listed)
    if whole is not None:
        return whole
    try:
        page = await s.ctx.store.messages.from_uid(s.drop.mailbox_id, listed.uid, READ_AHEAD)
    except StoreError:
        log.warning("pop3 %s: the index did not answer for RETR/TOP", s.drop.mailbox_id)
        s.reply("-ERR [SYS/TEMP] the index is unavailable, try again later")
        return None
    s.drop.read_ahead(page)
    whole = s.drop.whole(listed)
    if whole is None:
        s.reply(f"-ERR message {number} was removed from the mailbox meanwhile")
    return whole


async def _send_message(
    s: Pop3Session, verb: str, message: MessageInfo, first: str, top_lines: int | None
) -> None:
    """Stream one message; on damage, drop the connection before the final '.'."""
    assert s.key is not None, "TRANSACTION state holds the unlocked key"
    stuffer = DotStuffer()
    cut = TopFilter(top_lines) if top_lines is not None else None
    s.reply(first)
    sent = 0
    try:
        chunks = s.ctx.store.iter_message(s.key, message)
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                data = cut.feed(chunk) if cut else chunk
                s.conn.write(stuffer.feed(data))
                sent += len(data)
                await s.flush()
                if cut and cut.done:
                    break
    except MessageDamaged:
        await _damaged(s, verb, message)
    s.conn.write(stuffer.finish())
    s.retrieved_octets += sent
    if cut is None or not cut.done:  # the client now has the whole message
        s.retrieved += 1
        if "\\Seen" not in message.flags:
            s.seen.add(message.id)
    if cut is None and sent != message.size:
        log.warning(
            "pop3 %s: message %s sent %d octets, index says %d",
            s.drop.mailbox_id,
            message.id,
            sent,
            message.size,
        )


async def _damaged(s: Pop3Session, verb: str, message: MessageInfo) -> None:
    """Log and audit (ids only), then drop the connection: no terminating '.'."""
    mailbox_id = s.drop.mailbox_id
    log.error(
        "pop3 %s: message %s failed authentication during %s; connection dropped",
        mailbox_id,
        message.id,
        verb,
    )
    s.ctx.metrics.pop3_damaged.inc()
    try:
        await s.ctx.store.audit.record(
            "retrieval",
            str(AuditAction.POP3_MESSAGE_DAMAGED),
            mailbox_id,
            message.id,
            s.conn.client_ip,
        )
    except StoreError:
        log.warning("audit write failed for pop3.message-damaged")
    finally:
        s.conn.abort()
    raise SessionEnded()
