"""One IMAP session's state: every field a command handler may read or change.

States: not-authenticated -> authenticated -> selected -> logout (RFC 3501 §3).
Every handler receives this object; nothing else holds the unlocked key.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from storage import MessageInfo

from ..context import GatewayContext
from ..login import LoginResult
from .command_reader import ImapConnection
from .mime import Node
from .selected import MailboxView

NOT_AUTH, AUTH, SELECTED, LOGOUT = "not-authenticated", "authenticated", "selected", "logout"
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

Reply = tuple[str, str] | None  # the tagged status and text; None: the handler answered


class SessionEnd(Exception):
    """Close the connection (after LOGOUT, a damaged message, a deleted mailbox...)."""


@dataclass(eq=False)
class ImapSession:
    ctx: GatewayContext
    conn: ImapConnection
    implicit_tls: bool
    state: str = NOT_AUTH
    login: LoginResult | None = field(default=None, repr=False)
    view: MailboxView | None = None  # the selected INBOX
    busy: bool = False  # running a command
    stopping: bool = False  # the server is shutting down
    idling: bool = False  # inside IDLE
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)  # a change was notified
    mailbox_deleted: bool = False
    unsubscribe: Callable[[], None] | None = None  # stops change notifications
    # FETCH: MIME walks of recent messages (memory only), the message being sent
    trees: OrderedDict[int, Node] = field(default_factory=OrderedDict)
    heads: OrderedDict[int, Node] = field(default_factory=OrderedDict)
    current_message: MessageInfo | None = None
    mid_response: bool = False  # inside an untagged FETCH response

    @property
    def logged_in(self) -> LoginResult:
        """The login (only handlers of the authenticated states ask, and there it is set)."""
        assert self.login is not None
        return self.login

    @property
    def selected(self) -> MailboxView:
        """The view (only selected-state handlers ask, and there it is set)."""
        assert self.view is not None
        return self.view

    def timeout(self) -> float:
        idle = float(self.ctx.settings.imap.idle_timeout)
        return min(idle, PRE_LOGIN_TIMEOUT) if self.state == NOT_AUTH else idle

    def login_allowed(self) -> bool:
        return self.conn.tls_active or bool(self.ctx.settings.imap.allow_plaintext_login)

    def capabilities(self) -> bytes:
        caps = list(BASE_CAPABILITIES)
        if self.state == NOT_AUTH:
            if not self.conn.tls_active:
                caps.append("STARTTLS")
            caps.append("AUTH=PLAIN" if self.login_allowed() else "LOGINDISABLED")
        return " ".join(caps).encode()

    async def tagged(self, tag: str | None, status: str, text: str) -> None:
        prefix = tag.encode("ascii") if tag else b"*"
        if tag is None:
            status = "BAD"
        await self.conn.send(b"%s %s %s\r\n" % (prefix, status.encode(), text.encode()))
