"""Commands on the one folder, INBOX: LIST, STATUS, SELECT, STORE, SEARCH, EXPUNGE, IDLE...

The archive's folder structure is fixed: APPEND, CREATE, DELETE, RENAME, SUBSCRIBE,
UNSUBSCRIBE, COPY and MOVE are answered NO.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING, Any

from storage.models import FLAGS

from .connection import LineTooLong
from .parser import Command
from .search import Matcher, SearchRefused, check_supported
from .selected import MailboxView
from .wire import flag_list

if TYPE_CHECKING:
    from collections.abc import Callable

INBOX = "INBOX"
PERMANENT_FLAGS = frozenset(FLAGS)
STATUS_ITEMS = ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN")
IDLE_POLL = 30.0  # seconds; catches changes made by other gateway processes
NO_STRUCTURE = "[CANNOT] {} is not supported: the archive has one read-only folder, INBOX"
EXPUNGE_FORBIDDEN = frozenset({"FETCH", "STORE", "SEARCH"})  # without UID (RFC 3501 §7.4.1)


def is_inbox(name: str) -> bool:
    return name.upper() == INBOX


def pattern_matches(pattern: str, name: str) -> bool:
    regex = "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.IGNORECASE) is not None


class MailboxCommands:
    """Mixed into Session; relies on its ctx, conn, state, login, view and tagged()."""

    ctx: Any
    conn: Any
    state: str
    login: Any
    view: MailboxView | None
    wakeup: asyncio.Event
    tagged: Callable[..., Any]

    def init_mailbox_state(self) -> None:
        self.idling = False
        self.mailbox_deleted = False
        self._unsubscribe: Callable[[], None] | None = None

    # --- structure commands -------------------------------------------------------------
    async def do_namespace(self, cmd: Command) -> tuple[str, str]:
        await self.conn.send(b'* NAMESPACE (("" "/")) NIL NIL\r\n')
        return "OK", "NAMESPACE completed"

    async def do_list(self, cmd: Command) -> tuple[str, str]:
        pattern = cmd.args["reference"] + cmd.args["pattern"]
        verb = cmd.name.encode()
        if cmd.args["pattern"] == "":
            await self.conn.send(b'* %s (\\Noselect) "/" ""\r\n' % verb)
        elif pattern_matches(pattern, INBOX):
            await self.conn.send(b'* %s (\\HasNoChildren) "/" INBOX\r\n' % verb)
        return "OK", f"{cmd.name} completed"

    do_lsub = do_list

    async def _refuse(self, cmd: Command) -> tuple[str, str]:
        return "NO", NO_STRUCTURE.format(cmd.name)

    do_append = do_create = do_delete = do_rename = _refuse
    do_subscribe = do_unsubscribe = do_copy = do_move = _refuse

    async def do_status(self, cmd: Command) -> tuple[str, str]:
        if not is_inbox(cmd.args["mailbox"]):
            return "NO", "[NONEXISTENT] no such mailbox; the archive has only INBOX"
        unknown = [i for i in cmd.args["items"] if i not in STATUS_ITEMS]
        if unknown:
            return "BAD", f"unknown STATUS item {unknown[0][:40]}"
        mailbox_id = self.login.mailbox.id
        mailbox = await self.ctx.store.mailboxes.get(mailbox_id)
        probe = MailboxView(mailbox_id, self.login.key, read_only=True)
        messages = probe.visible(await self.ctx.store.messages.list(mailbox_id))
        values = {
            "MESSAGES": len(messages),
            "RECENT": 0,
            "UIDNEXT": await self.ctx.store.messages.next_uid(mailbox_id),
            "UIDVALIDITY": mailbox.uidvalidity,
            "UNSEEN": sum(1 for m in messages if "\\Seen" not in m.flags),
        }
        items = b" ".join(b"%s %d" % (i.encode(), values[i]) for i in cmd.args["items"])
        await self.conn.send(b"* STATUS INBOX (%s)\r\n" % items)
        return "OK", "STATUS completed"

    # --- selecting -------------------------------------------------------------------
    async def do_select(self, cmd: Command) -> tuple[str, str]:
        self.leave_mailbox()
        if not is_inbox(cmd.args["mailbox"]):
            return "NO", "[NONEXISTENT] no such mailbox; the archive has only INBOX"
        read_only = cmd.name == "EXAMINE"
        mailbox_id = self.login.mailbox.id
        mailbox = await self.ctx.store.mailboxes.get(mailbox_id)
        view = MailboxView(mailbox_id, self.login.key, read_only)
        self._subscribe(mailbox_id)
        view.load(await self.ctx.store.messages.list(mailbox_id))
        next_uid = await self.ctx.store.messages.next_uid(mailbox_id)
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
        await self.conn.send(b"".join(lines))
        self.view, self.state = view, "selected"
        mode = "[READ-ONLY]" if read_only else "[READ-WRITE]"
        return "OK", f"{mode} {cmd.name} completed"

    do_examine = do_select

    def _subscribe(self, mailbox_id: str) -> None:
        loop = asyncio.get_running_loop()

        def listener(_mailbox_id: str, event: str) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: session is gone
                loop.call_soon_threadsafe(self._on_event, event)

        self._unsubscribe = self.ctx.store.subscribe(mailbox_id, listener)

    def _on_event(self, event: str) -> None:
        if self.view is not None:
            self.view.dirty = True
        if event == "deleted":
            self.mailbox_deleted = True
        self.wakeup.set()

    def leave_mailbox(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.view = None
        if self.state == "selected":
            self.state = "authenticated"

    async def do_unselect(self, cmd: Command) -> tuple[str, str]:
        self.leave_mailbox()
        return "OK", "UNSELECT completed"

    async def do_close(self, cmd: Command) -> tuple[str, str]:
        view = self.view
        assert view is not None
        if not view.read_only:
            await self.sync_view(allow_expunge=False)
            doomed = [m for m in view.messages if "\\Deleted" in m.flags]
            await self.ctx.store.messages.delete(view.mailbox_id, [m.id for m in doomed])
        self.leave_mailbox()
        return "OK", "CLOSE completed"

    async def do_check(self, cmd: Command) -> tuple[str, str]:
        return "OK", "CHECK completed"

    # --- changes -----------------------------------------------------------------------
    async def sync_view(self, allow_expunge: bool) -> None:
        """Bring the view up to date and send the untagged responses that says so."""
        assert self.view is not None
        listed = await self.ctx.store.messages.list(self.view.mailbox_id)
        updates = self.view.sync(listed, allow_expunge)
        if updates:
            await self.conn.send(b"".join(updates))

    async def catch_up(self, allow_expunge: bool, force: bool = False) -> None:
        """Report what changed (`force`: look even without a change notification)."""
        view = self.view
        if view is None:
            return
        if view.dirty or force:
            await self.sync_view(allow_expunge)
        elif allow_expunge and view.ghosts:
            await self.conn.send(b"".join(view.remove(set(view.ghosts))))

    async def presync(self, cmd: Command) -> None:
        """Before FETCH, STORE, SEARCH: catch up (announcing expunges only if allowed)."""
        await self.catch_up(cmd.uid or cmd.name not in EXPUNGE_FORBIDDEN)

    async def report_changes(self, cmd: Command) -> None:
        if self.mailbox_deleted:
            await self.conn.send(b"* BYE this mailbox was deleted\r\n")
            from .session import SessionEnd

            raise SessionEnd()
        allow = cmd.uid or cmd.name not in EXPUNGE_FORBIDDEN
        await self.catch_up(allow, force=cmd.name in ("NOOP", "CHECK", "IDLE"))

    # --- flags and expunge -------------------------------------------------------------
    async def do_store(self, cmd: Command) -> tuple[str, str]:
        view = self.view
        assert view is not None
        if view.read_only:
            return "NO", "[READ-ONLY] the mailbox was opened with EXAMINE"
        if not cmd.uid and not view.seq_range_valid(cmd.args["set"]):
            return "BAD", "invalid message sequence number"
        await self.presync(cmd)
        selected = view.select(cmd.args["set"], cmd.uid)
        targets = [(s, m) for s, m in selected if m.uid not in view.ghosts]
        flags = [f for f in cmd.args["flags"] if f in PERMANENT_FLAGS]
        updated = await self.ctx.store.messages.set_flags(
            view.mailbox_id, [m.id for _, m in targets], flags, cmd.args["mode"]
        )
        by_uid = {m.uid: m for m in updated}
        out = []
        for seq, m in targets:
            fresh = by_uid.get(m.uid)
            if fresh is None:
                continue
            view.update_message(fresh)
            if not cmd.args["silent"]:
                uid = b" UID %d" % fresh.uid if cmd.uid else b""
                out.append(b"* %d FETCH (FLAGS %s%s)\r\n" % (seq, flag_list(fresh.flags), uid))
        if out:
            await self.conn.send(b"".join(out))
        return "OK", "STORE completed"

    async def do_expunge(self, cmd: Command) -> tuple[str, str]:
        view = self.view
        assert view is not None
        if view.read_only:
            return "NO", "[READ-ONLY] the mailbox was opened with EXAMINE"
        await self.sync_view(allow_expunge=True)
        candidates = (
            view.select(cmd.args["set"], uid=True) if cmd.uid else list(enumerate(view.messages, 1))
        )
        doomed = [m for _, m in candidates if "\\Deleted" in m.flags]
        await self.ctx.store.messages.delete(view.mailbox_id, [m.id for m in doomed])
        responses = view.remove({m.uid for m in doomed})
        if responses:
            await self.conn.send(b"".join(responses))
        return "OK", "EXPUNGE completed"

    # --- search ----------------------------------------------------------------------------
    async def do_search(self, cmd: Command) -> tuple[str, str]:
        view = self.view
        assert view is not None
        if cmd.args["charset"] not in (None, "US-ASCII", "UTF-8"):
            return "NO", "[BADCHARSET (US-ASCII UTF-8)] unsupported charset"
        try:
            check_supported(cmd.args["key"])
        except SearchRefused as exc:
            return "NO", str(exc)
        await self.presync(cmd)
        matcher = Matcher(view.exists, view.max_uid)
        found = [
            m.uid if cmd.uid else seq
            for seq, m in enumerate(view.messages, 1)
            if m.uid not in view.ghosts and matcher.matches(cmd.args["key"], seq, m)
        ]
        await self.conn.send(b"* SEARCH" + b"".join(b" %d" % n for n in found) + b"\r\n")
        return "OK", "SEARCH completed"

    # --- IDLE (RFC 2177) ---------------------------------------------------------------
    async def do_idle(self, cmd: Command) -> tuple[str, str]:
        """Report changes as they happen until DONE; imap.idle_timeout still applies."""
        self.idling = True
        await self.conn.send(b"+ idling\r\n")
        reader = asyncio.ensure_future(self.conn.read_line())
        try:
            async with asyncio.timeout(float(self.ctx.settings.imap.idle_timeout)):
                await self._idle_until(reader)
        finally:
            self.idling = False
            if not reader.done():
                reader.cancel()
        error = reader.exception()
        if error is not None and not isinstance(error, LineTooLong):
            raise error
        if error is not None or reader.result().strip().upper() != b"DONE":
            return "BAD", "expected DONE to end IDLE"
        return "OK", "IDLE terminated"

    async def _idle_until(self, reader: asyncio.Future) -> None:
        while True:
            if self.view is not None and self.view.dirty:
                await self.sync_view(allow_expunge=True)
            self.wakeup.clear()
            waker = asyncio.ensure_future(self.wakeup.wait())
            done, _ = await asyncio.wait(
                {reader, waker}, timeout=IDLE_POLL, return_when=asyncio.FIRST_COMPLETED
            )
            waker.cancel()
            if reader in done:
                return
            if not done and self.view is not None:
                self.view.dirty = True  # poll: another gateway process may have changed it
