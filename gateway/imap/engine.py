"""The IMAP engine: greet, read a command, dispatch it through the verb table, report changes.

Each command is read whole (literals included), its head parsed (parser.py), then the
verb table (verbs.py) checks the state, parses the arguments into a typed Request and
runs the handler, which returns the tagged status and text (None when it answered
itself). In the selected state, changes made by other sessions are reported before the
tagged response (updates.py).
"""

from __future__ import annotations

import asyncio
import logging

from storage import MessageDamaged, StoreError

from ..retrieval.dispatch import NotAllowed, UnknownVerb
from .command_reader import ConnectionClosed, Rejected
from .fetch import message_damaged
from .parser import Command, ParseError, parse_command
from .state import LOGOUT, SELECTED, ImapSession, SessionEnd
from .updates import leave_mailbox, report_changes
from .verbs import VERBS, WRONG_STATE

log = logging.getLogger("gateway.imap")
SHUTTING_DOWN = b"* BYE [UNAVAILABLE] server shutting down\r\n"


async def run_session(s: ImapSession) -> None:
    try:
        await s.conn.send(
            b"* OK [CAPABILITY %s] Journal Gateway IMAP4rev1 ready\r\n" % s.capabilities()
        )
        while s.state != LOGOUT and not s.stopping:
            await _one_command(s)
        if s.stopping and s.state != LOGOUT:
            await _bye(s, SHUTTING_DOWN)
    except (ConnectionClosed, SessionEnd):
        pass
    except TimeoutError:
        await _bye(s, b"* BYE Autologout; idle for too long\r\n")
    finally:
        leave_mailbox(s)
        s.conn.close()


async def _one_command(s: ImapSession) -> None:
    async with asyncio.timeout(s.timeout()):
        raw = await s.conn.read_command()
    s.busy = True
    try:
        await _execute(s, raw)
    finally:
        s.busy = False


async def _execute(s: ImapSession, raw: bytes | Rejected) -> None:
    if isinstance(raw, Rejected):
        await s.tagged(raw.tag, raw.status, raw.text)
        return
    try:
        cmd = parse_command(raw)
    except ParseError as exc:
        await s.tagged(exc.tag, "BAD", f"syntax error: {exc}")
        return
    try:
        await _dispatch(s, cmd)
    except ParseError as exc:  # the verb's arguments
        await s.tagged(cmd.tag, "BAD", f"syntax error: {exc}")
    except UnknownVerb as exc:
        await s.tagged(cmd.tag, "BAD", f"syntax error: unknown command {str(exc)[:40]}")
    except NotAllowed as exc:
        reason = WRONG_STATE[exc.state]
        await s.tagged(cmd.tag, "BAD", f"{exc.verb} not allowed now: {reason}")


async def _dispatch(s: ImapSession, cmd: Command) -> None:
    try:
        result = await VERBS.dispatch(s, s.state, cmd.name, cmd)
    except MessageDamaged:
        await message_damaged(s)
        raise SessionEnd() from None
    except StoreError as exc:
        log.error("imap: store error during %s: %s", cmd.name, exc)
        result = ("NO", "[UNAVAILABLE] the archive could not complete the command; try again")
    if result is None:
        return
    if s.state == SELECTED:
        await report_changes(s, cmd.name, cmd.uid)
    await s.tagged(cmd.tag, *result)


async def _bye(s: ImapSession, line: bytes) -> None:
    try:
        await asyncio.wait_for(s.conn.send(line), 5)
    except (ConnectionClosed, TimeoutError):
        pass


async def shutdown(s: ImapSession) -> None:
    """Server stopping: say BYE to an idle session and close it."""
    s.stopping = True
    if not s.busy or s.idling:
        await _bye(s, SHUTTING_DOWN)
        s.conn.close()
