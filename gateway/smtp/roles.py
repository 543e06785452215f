"""What the SMTP pieces need of each other, as protocols: no module imports its caller.

`server.py` (SmtpService) creates `session.py`'s GatewaySMTP per connection; the
session, its DATA ingest and the aiosmtpd hooks call back into them only through
these two roles, so the import graph stays one-way: server -> session -> hooks,
ingest -> roles.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiosmtpd.smtp import Session

from ..context import GatewayContext
from ..robots.responder import RobotResponder
from .txlog import Transaction


class SmtpListener(Protocol):
    """The service a connection belongs to (SmtpService)."""

    ctx: GatewayContext
    options: Any  # the [smtp] settings section
    stopping: bool
    robots: RobotResponder  # answers accepted mail after the 250

    def register(self, conn: SmtpConnection, task: asyncio.Task) -> None: ...

    def admit(self, conn: SmtpConnection, ip: str) -> str | None:
        """None to accept the client, else the refusal to send before closing."""

    def transaction_ended(self, conn: SmtpConnection) -> None: ...

    def untrusted_proxy(self, peer_ip: str) -> bool:
        """True when a PROXY header is expected and this TCP peer may not send one."""

    def normalize_ip(self, text: str) -> str: ...


class SmtpConnection(Protocol):
    """One client connection (GatewaySMTP), as the hooks see it."""

    service: SmtpListener
    hostname: str
    client_ip: str
    max_message_size: int
    command_size_limits: Any  # aiosmtpd's per-verb line limits
    tx: Transaction | None
    session: Session | None

    async def push(self, status: Any) -> None: ...

    def begin_transaction(self, sender: str, declared_size: int) -> None: ...

    def end_transaction(self, result: str) -> None: ...

    def close_after_reply(self) -> None: ...

    def close_with(self, reply: str) -> None:
        """Send a last reply and close (timeouts, shutdown)."""

    def abort_connection(self) -> None: ...
