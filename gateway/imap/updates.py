"""Keeping a session's selected INBOX current: change notifications and untagged updates.

Other sessions change the mailbox; the store notifies this session (in-process events),
which marks its view dirty and reports the changes before its next tagged response,
announcing expunges only where RFC 3501 §7.4.1 allows it. Changes made by other worker
processes (or nodes) move the mailbox's change number in the store, which an IDLE session
watches (messages.wait_for_change, every imap.idle_poll_interval seconds on SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib

from storage import MessageInfo, NotFound, Store

from .arguments import Request
from .state import AUTH, SELECTED, ImapSession, SessionEnd

EXPUNGE_FORBIDDEN = frozenset({"FETCH", "STORE", "SEARCH"})  # without UID (RFC 3501 §7.4.1)


def subscribe(s: ImapSession, mailbox_id: str) -> None:
    loop = asyncio.get_running_loop()

    def listener(_mailbox_id: str, event: str) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: session is gone
            loop.call_soon_threadsafe(_on_event, s, event)

    s.unsubscribe = s.ctx.store.subscribe(mailbox_id, listener)


def _on_event(s: ImapSession, event: str) -> None:
    if s.view is not None:
        s.view.dirty = True
    if event == "deleted":
        s.mailbox_deleted = True
    s.wakeup.set()


def leave_mailbox(s: ImapSession) -> None:
    if s.unsubscribe is not None:
        s.unsubscribe()
        s.unsubscribe = None
    s.view = None
    if s.state == SELECTED:
        s.state = AUTH


async def listing(s: ImapSession, mailbox_id: str) -> tuple[int, list[MessageInfo]]:
    """The mailbox's change number, then its messages: read in this order, a change
    committed in between is in the list and also moves the number (one extra look,
    never a missed change). -1 when the mailbox is gone."""

    def read(store: Store) -> tuple[int, list[MessageInfo]]:
        try:
            seq = store.messages.change_seq(mailbox_id)
        except NotFound:
            seq = -1
        return seq, store.messages.list(mailbox_id)

    return await s.ctx.store.batch(read)


async def sync_view(s: ImapSession, allow_expunge: bool) -> None:
    """Bring the view up to date and send the untagged responses that say so."""
    view = s.selected
    view.change_seq, listed = await listing(s, view.mailbox_id)
    updates = view.sync(listed, allow_expunge)
    if updates:
        await s.conn.send(b"".join(updates))


async def catch_up(s: ImapSession, allow_expunge: bool, force: bool = False) -> None:
    """Report what changed (`force`: look even without a change notification)."""
    view = s.view
    if view is None:
        return
    if view.dirty or force:
        await sync_view(s, allow_expunge)
    elif allow_expunge and view.ghosts:
        await s.conn.send(b"".join(view.remove(set(view.ghosts))))


def may_expunge(name: str, uid: bool) -> bool:
    return uid or name not in EXPUNGE_FORBIDDEN


async def presync(s: ImapSession, req: Request) -> None:
    """Before FETCH, STORE, SEARCH: catch up (announcing expunges only if allowed)."""
    await catch_up(s, may_expunge(req.name, req.uid))


async def report_changes(s: ImapSession, name: str, uid: bool) -> None:
    """After a selected-state command `name`, before its tagged response."""
    if s.mailbox_deleted:
        await s.conn.send(b"* BYE this mailbox was deleted\r\n")
        raise SessionEnd()
    await catch_up(s, may_expunge(name, uid), force=name in ("NOOP", "CHECK", "IDLE"))
