"""One IMAP session: the state machine, the command loop and the not-authenticated commands.

States: not-authenticated -> authenticated -> selected -> logout (RFC 3501 §3). Each
command is parsed whole (literals included), checked against the state, and handled
by a `do_<name>` method returning the tagged status and text (None when the handler
answered itself). In the selected state, changes made by other sessions are reported
before the tagged response (see selected.py).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from typing import TYPE_CHECKING

from storage import MessageDamaged, StoreError

from ..login import LoginFailed, LoginResult
from ..retrieval.sign_in import sign_in
from .connection import Connection, ConnectionClosed, LineTooLong, Rejected
from .fetch import FetchCommands
from .mailbox import MailboxCommands
from .parser import Command, ParseError, parse_command
from .selected import MailboxView

if TYPE_CHECKING:
    from ..context import GatewayContext

log = logging.getLogger("gateway.imap")

NOT_AUTH, AUTH, SELECTED, LOGOUT = "not-authenticated", "authenticated", "selected", "logout"
ANY = frozenset({NOT_AUTH, AUTH, SELECTED})
AUTHED = frozenset({AUTH, SELECTED})
STATES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("CAPABILITY", "NOOP", "LOGOUT", "ID"), ANY),
    **dict.fromkeys(("STARTTLS", "LOGIN", "AUTHENTICATE"), frozenset({NOT_AUTH})),
    **dict.fromkeys(
        (
            "SELECT",
            "EXAMINE",
            "LIST",
            "LSUB",
            "STATUS",
            "NAMESPACE",
            "IDLE",
            "APPEND",
            "CREATE",
            "DELETE",
            "RENAME",
            "SUBSCRIBE",
            "UNSUBSCRIBE",
        ),
        AUTHED,
    ),
    **dict.fromkeys(
        ("CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE"),
        frozenset({SELECTED}),
    ),
}
WRONG_STATE = {
    NOT_AUTH: "log in first",
    AUTH: "select a mailbox first",
    SELECTED: "already logged in",
}
BASE_CAPABILITIES = (
    "IMAP4rev1",
    "LITERAL+",
    "SASL-IR",
    "ID",
    "IDLE",
    "NAMESPACE",
    "UIDPLUS",
    "UNSELECT",
)
PRE_LOGIN_TIMEOUT = 60.0


class SessionEnd(Exception):
    """Close the connection (after LOGOUT, a damaged message, a deleted mailbox...)."""


class Session(MailboxCommands, FetchCommands):
    def __init__(self, ctx: GatewayContext, conn: Connection, implicit_tls: bool) -> None:
        self.ctx = ctx
        self.conn = conn
        self.implicit_tls = implicit_tls
        self.state = NOT_AUTH
        self.login: LoginResult | None = None
        self.view: MailboxView | None = None
        self.busy = False
        self.stopping = False
        self.wakeup = asyncio.Event()
        self.init_mailbox_state()
        self.init_fetch_state()

    # --- the loop ----------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self.conn.send(
                b"* OK [CAPABILITY %s] Journal Gateway IMAP4rev1 ready\r\n" % (self.capabilities())
            )
            while self.state != LOGOUT and not self.stopping:
                await self._one_command()
            if self.stopping and self.state != LOGOUT:
                await self._bye(b"* BYE [UNAVAILABLE] server shutting down\r\n")
        except (ConnectionClosed, SessionEnd):
            pass
        except TimeoutError:
            await self._bye(b"* BYE Autologout; idle for too long\r\n")
        finally:
            self.leave_mailbox()
            self.conn.close()

    async def _one_command(self) -> None:
        async with asyncio.timeout(self.timeout()):
            raw = await self.conn.read_command()
        self.busy = True
        try:
            await self._execute(raw)
        finally:
            self.busy = False

    def timeout(self) -> float:
        idle = float(self.ctx.settings.imap.idle_timeout)
        return min(idle, PRE_LOGIN_TIMEOUT) if self.state == NOT_AUTH else idle

    async def _execute(self, raw: bytes | Rejected) -> None:
        if isinstance(raw, Rejected):
            await self.tagged(raw.tag, raw.status, raw.text)
            return
        try:
            command = parse_command(raw)
        except ParseError as exc:
            await self.tagged(exc.tag, "BAD", f"syntax error: {exc}")
            return
        await self.dispatch(command)

    async def dispatch(self, cmd: Command) -> None:
        allowed = STATES[cmd.name]
        if self.state not in allowed:
            reason = WRONG_STATE[self.state]
            await self.tagged(cmd.tag, "BAD", f"{cmd.name} not allowed now: {reason}")
            return
        handler = getattr(self, f"do_{cmd.name.lower()}")
        try:
            result = await handler(cmd)
        except MessageDamaged as exc:
            await self.message_damaged(exc)
            raise SessionEnd() from None
        except StoreError as exc:
            log.error("imap: store error during %s: %s", cmd.name, exc)
            result = ("NO", "[UNAVAILABLE] the archive could not complete the command; try again")
        if result is None:
            return
        if self.state == SELECTED:
            await self.report_changes(cmd)
        await self.tagged(cmd.tag, *result)

    async def tagged(self, tag: str | None, status: str, text: str) -> None:
        prefix = tag.encode("ascii") if tag else b"*"
        if tag is None:
            status = "BAD"
        await self.conn.send(b"%s %s %s\r\n" % (prefix, status.encode(), text.encode()))

    async def _bye(self, line: bytes) -> None:
        try:
            await asyncio.wait_for(self.conn.send(line), 5)
        except (ConnectionClosed, TimeoutError):
            pass

    async def shutdown(self) -> None:
        """Server stopping: say BYE to an idle session and close it."""
        self.stopping = True
        if not self.busy or self.idling:
            await self._bye(b"* BYE [UNAVAILABLE] server shutting down\r\n")
            self.conn.close()

    # --- capabilities and TLS ----------------------------------------------------------
    def login_allowed(self) -> bool:
        return self.conn.tls_active or bool(self.ctx.settings.imap.allow_plaintext_login)

    def capabilities(self) -> bytes:
        caps = list(BASE_CAPABILITIES)
        if self.state == NOT_AUTH:
            if not self.conn.tls_active:
                caps.append("STARTTLS")
            caps.append("AUTH=PLAIN" if self.login_allowed() else "LOGINDISABLED")
        return " ".join(caps).encode()

    async def do_capability(self, cmd: Command) -> tuple[str, str]:
        await self.conn.send(b"* CAPABILITY %s\r\n" % self.capabilities())
        return "OK", "CAPABILITY completed"

    async def do_starttls(self, cmd: Command) -> tuple[str, str] | None:
        if self.conn.tls_active:
            return "BAD", "TLS is already active"
        await self.tagged(cmd.tag, "OK", "Begin TLS negotiation now")
        # A client that never starts the handshake is dropped like an idle one.
        await self.conn.start_tls(self.ctx.tls.context, self.timeout())
        return None

    async def do_noop(self, cmd: Command) -> tuple[str, str]:
        return "OK", "NOOP completed"

    async def do_id(self, cmd: Command) -> tuple[str, str]:
        await self.conn.send(b'* ID ("name" "Journal Gateway")\r\n')
        return "OK", "ID completed"

    async def do_logout(self, cmd: Command) -> None:
        await self.conn.send(b"* BYE logging out\r\n")
        await self.tagged(cmd.tag, "OK", "LOGOUT completed")
        self.state = LOGOUT

    # --- login ---------------------------------------------------------------------------
    async def do_login(self, cmd: Command) -> tuple[str, str]:
        if not self.login_allowed():
            return "NO", "[PRIVACYREQUIRED] LOGIN is disabled before STARTTLS"
        return await self.authenticate(cmd.args["user"], cmd.args["password"])

    async def do_authenticate(self, cmd: Command) -> tuple[str, str]:
        if cmd.args["mechanism"] != "PLAIN":
            return "NO", "[CANNOT] unsupported mechanism; use PLAIN"
        if not self.login_allowed():
            return "NO", "[PRIVACYREQUIRED] authentication is disabled before STARTTLS"
        response = cmd.args["initial"]
        if response is None:
            await self.conn.send(b"+ \r\n")
            try:
                async with asyncio.timeout(self.timeout()):
                    line = await self.conn.read_line()
                response = line.decode("ascii", "replace").strip()
            except LineTooLong:
                return "BAD", "authentication response too long"
        if response == "*":
            return "BAD", "authentication cancelled"
        credentials = _decode_plain("" if response == "=" else response)
        if credentials is None:
            return "BAD", "malformed PLAIN response"
        return await self.authenticate(*credentials)

    async def authenticate(self, user: str, password: str) -> tuple[str, str]:
        try:
            self.login = await sign_in(self.ctx, "imap", user, password, self.conn.peer_ip)
        except LoginFailed as exc:
            return "NO", f"[AUTHENTICATIONFAILED] {exc}"
        self.state = AUTH
        return "OK", f"[CAPABILITY {self.capabilities().decode()}] logged in"


def _decode_plain(response: str) -> tuple[str, str] | None:
    """SASL PLAIN (RFC 4616): authzid NUL authcid NUL passwd; authzid empty or = authcid."""
    try:
        raw = base64.b64decode(response.encode("ascii"), validate=True)
        authzid, authcid, password = raw.decode("utf-8").split("\0")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if not authcid or (authzid and authzid != authcid):
        return None
    return authcid, password
