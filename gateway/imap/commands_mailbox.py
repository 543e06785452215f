"""Commands on the one folder, INBOX: LIST, STATUS, SELECT, STORE, SEARCH, EXPUNGE, IDLE...

The archive's folder structure is fixed: APPEND, CREATE, DELETE, RENAME, SUBSCRIBE,
UNSUBSCRIBE, COPY and MOVE are answered NO.
"""

from __future__ import annotations

import asyncio
import re

from storage.models import FLAGS

from .arguments import (
    ExpungeArgs,
    ListArgs,
    MailboxArgs,
    NoArgs,
    Request,
    SearchArgs,
    StatusArgs,
    StoreArgs,
)
from .command_reader import LineTooLong
from .search import Matcher, SearchRefused, check_supported
from .selected import MailboxView
from .state import SELECTED, ImapSession, Reply
from .updates import leave_mailbox, listing, presync, subscribe, sync_view
from .wire import flag_list

INBOX = "INBOX"
PERMANENT_FLAGS = frozenset(FLAGS)
STATUS_ITEMS = ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN")
NO_STRUCTURE = "[CANNOT] {} is not supported: the archive has one read-only folder, INBOX"
NO_SUCH_MAILBOX = "[NONEXISTENT] no such mailbox; the archive has only INBOX"
READ_ONLY = "[READ-ONLY] the mailbox was opened with EXAMINE"


def is_inbox(name: str) -> bool:
    return name.upper() == INBOX


def pattern_matches(pattern: str, name: str) -> bool:
    regex = "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.IGNORECASE) is not None


# --- structure commands ------------------------------------------------------------------
async def namespace(s: ImapSession, req: Request[NoArgs]) -> Reply:
    await s.conn.send(b'* NAMESPACE (("" "/")) NIL NIL\r\n')
    return "OK", "NAMESPACE completed"


async def list_mailboxes(s: ImapSession, req: Request[ListArgs]) -> Reply:
    """LIST and LSUB."""
    verb = req.name.encode()
    if req.args.pattern == "":
        await s.conn.send(b'* %s (\\Noselect) "/" ""\r\n' % verb)
    elif pattern_matches(req.args.reference + req.args.pattern, INBOX):
        await s.conn.send(b'* %s (\\HasNoChildren) "/" INBOX\r\n' % verb)
    return "OK", f"{req.name} completed"


async def refuse(s: ImapSession, req: Request[NoArgs]) -> Reply:
    return "NO", NO_STRUCTURE.format(req.name)


async def status(s: ImapSession, req: Request[StatusArgs]) -> Reply:
    if not is_inbox(req.args.mailbox):
        return "NO", NO_SUCH_MAILBOX
    unknown = [i for i in req.args.items if i not in STATUS_ITEMS]
    if unknown:
        return "BAD", f"unknown STATUS item {unknown[0][:40]}"
    login = s.logged_in
    mailbox_id = login.mailbox.id
    mailbox = await s.ctx.store.mailboxes.get(mailbox_id)
    probe = MailboxView(mailbox_id, login.key, read_only=True)
    messages = probe.visible(await s.ctx.store.messages.list(mailbox_id))
    values = {
        "MESSAGES": len(messages),
        "RECENT": 0,
        "UIDNEXT": await s.ctx.store.messages.next_uid(mailbox_id),
        "UIDVALIDITY": mailbox.uidvalidity,
        "UNSEEN": sum(1 for m in messages if "\\Seen" not in m.flags),
    }
    items = b" ".join(b"%s %d" % (i.encode(), values[i]) for i in req.args.items)
    await s.conn.send(b"* STATUS INBOX (%s)\r\n" % items)
    return "OK", "STATUS completed"


# --- selecting -----------------------------------------------------------------------------
async def select(s: ImapSession, req: Request[MailboxArgs]) -> Reply:
    """SELECT and EXAMINE (read-only)."""
    leave_mailbox(s)
    if not is_inbox(req.args.mailbox):
        return "NO", NO_SUCH_MAILBOX
    read_only = req.name == "EXAMINE"
    login = s.logged_in
    mailbox_id = login.mailbox.id
    mailbox = await s.ctx.store.mailboxes.get(mailbox_id)
    view = MailboxView(mailbox_id, login.key, read_only)
    subscribe(s, mailbox_id)
    view.change_seq, listed = await listing(s, mailbox_id)
    view.load(listed)
    next_uid = await s.ctx.store.messages.next_uid(mailbox_id)
    permanent = flag_list(()) if read_only else flag_list(PERMANENT_FLAGS)
    lines = [
        b"* FLAGS %s\r\n" % flag_list(PERMANENT_FLAGS),
        b"* OK [PERMANENTFLAGS %s] flags that persist\r\n" % permanent,
        b"* %d EXISTS\r\n" % view.exists,
        b"* 0 RECENT\r\n",
    ]
    unseen = view.first_unseen()
    if unseen is not None:
        lines.append(b"* OK [UNSEEN %d] first unseen message\r\n" % unseen)
    lines.append(b"* OK [UIDVALIDITY %d] UIDs valid\r\n" % mailbox.uidvalidity)
    lines.append(b"* OK [UIDNEXT %d] predicted next UID\r\n" % next_uid)
    await s.conn.send(b"".join(lines))
    s.view, s.state = view, SELECTED
    mode = "[READ-ONLY]" if read_only else "[READ-WRITE]"
    return "OK", f"{mode} {req.name} completed"


async def unselect(s: ImapSession, req: Request[NoArgs]) -> Reply:
    leave_mailbox(s)
    return "OK", "UNSELECT completed"


async def close(s: ImapSession, req: Request[NoArgs]) -> Reply:
    view = s.selected
    if not view.read_only:
        await sync_view(s, allow_expunge=False)
        doomed = [m for m in view.messages if "\\Deleted" in m.flags]
        await s.ctx.store.messages.delete(view.mailbox_id, [m.id for m in doomed])
    leave_mailbox(s)
    return "OK", "CLOSE completed"


async def check(s: ImapSession, req: Request[NoArgs]) -> Reply:
    return "OK", "CHECK completed"


# --- flags and expunge -------------------------------------------------------------------
async def store(s: ImapSession, req: Request[StoreArgs]) -> Reply:
    view, args = s.selected, req.args
    if view.read_only:
        return "NO", READ_ONLY
    if not req.uid and not view.seq_range_valid(args.set):
        return "BAD", "invalid message sequence number"
    await presync(s, req)
    selected = view.select(args.set, req.uid)
    targets = [(seq, m) for seq, m in selected if m.uid not in view.ghosts]
    flags = [f for f in args.flags if f in PERMANENT_FLAGS]
    updated = await s.ctx.store.messages.set_flags(
        view.mailbox_id, [m.id for _, m in targets], flags, args.mode
    )
    by_uid = {m.uid: m for m in updated}
    out = []
    for seq, m in targets:
        fresh = by_uid.get(m.uid)
        if fresh is None:
            continue
        view.update_message(fresh)
        if not args.silent:
            uid = b" UID %d" % fresh.uid if req.uid else b""
            out.append(b"* %d FETCH (FLAGS %s%s)\r\n" % (seq, flag_list(fresh.flags), uid))
    if out:
        await s.conn.send(b"".join(out))
    return "OK", "STORE completed"


async def expunge(s: ImapSession, req: Request[ExpungeArgs]) -> Reply:
    view = s.selected
    if view.read_only:
        return "NO", READ_ONLY
    await sync_view(s, allow_expunge=True)
    candidates = (
        view.select(req.args.set, uid=True)
        if req.args.set is not None
        else list(enumerate(view.messages, 1))
    )
    doomed = [m for _, m in candidates if "\\Deleted" in m.flags]
    await s.ctx.store.messages.delete(view.mailbox_id, [m.id for m in doomed])
    responses = view.remove({m.uid for m in doomed})
    if responses:
        await s.conn.send(b"".join(responses))
    return "OK", "EXPUNGE completed"


# --- search ------------------------------------------------------------------------------
async def search(s: ImapSession, req: Request[SearchArgs]) -> Reply:
    view, args = s.selected, req.args
    if args.charset not in (None, "US-ASCII", "UTF-8"):
        return "NO", "[BADCHARSET (US-ASCII UTF-8)] unsupported charset"
    try:
        check_supported(args.key)
    except SearchRefused as exc:
        return "NO", str(exc)
    await presync(s, req)
    matcher = Matcher(view.exists, view.max_uid)
    found = [
        m.uid if req.uid else seq
        for seq, m in enumerate(view.messages, 1)
        if m.uid not in view.ghosts and matcher.matches(args.key, seq, m)
    ]
    await s.conn.send(b"* SEARCH" + b"".join(b" %d" % n for n in found) + b"\r\n")
    return "OK", "SEARCH completed"


# --- IDLE (RFC 2177) ---------------------------------------------------------------------
async def idle(s: ImapSession, req: Request[NoArgs]) -> Reply:
    """Report changes as they happen until DONE; imap.idle_timeout still applies."""
    s.idling = True
    await s.conn.send(b"+ idling\r\n")
    reader = asyncio.ensure_future(s.conn.read_line())
    try:
        async with asyncio.timeout(float(s.ctx.settings.imap.idle_timeout)):
            await _idle_until(s, reader)
    finally:
        s.idling = False
        if not reader.done():
            reader.cancel()
    error = reader.exception()
    if error is not None and not isinstance(error, LineTooLong):
        raise error
    if error is not None or reader.result().strip().upper() != b"DONE":
        return "BAD", "expected DONE to end IDLE"
    return "OK", "IDLE terminated"


async def _idle_until(s: ImapSession, reader: asyncio.Future) -> None:
    """Until the client's line arrives: report changes notified in this process (wakeup)
    or committed by another one (the store's change number moved)."""
    poll = float(s.ctx.settings.imap.idle_poll_interval)
    while True:
        view = s.view
        if view is not None and view.dirty:
            await sync_view(s, allow_expunge=True)
        s.wakeup.clear()
        waiters: set[asyncio.Future] = {reader, asyncio.ensure_future(s.wakeup.wait())}
        if view is not None:
            changes = s.ctx.store.messages.wait_for_change(
                view.mailbox_id, view.change_seq, poll=poll
            )
            waiters.add(asyncio.ensure_future(changes))
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending - {reader}:
            waiter.cancel()
        if reader in done:
            return
        if view is not None:
            view.dirty = True  # woken by a change here or elsewhere: look again
