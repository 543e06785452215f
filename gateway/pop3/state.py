"""One POP3 session's state, and its channel to the client (read a command, reply).

Every command handler receives this object. States follow RFC 1939: AUTHORIZATION ->
TRANSACTION -> UPDATE. Protocol errors (unknown command, wrong state, bad syntax,
over-long line) are counted; too many close the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from storage import MailboxKey, StoreError

from ..context import GatewayContext
from ..retrieval import ConnectionClosed, LineConnection, LineTooLong
from .maildrop import Maildrop, MaildropLock

log = logging.getLogger("gateway.pop3")

AUTHORIZATION = "AUTHORIZATION"
TRANSACTION = "TRANSACTION"
UPDATE = "UPDATE"

# Longest command line accepted, CRLF included. RFC 2449 allows 255 octets; more room is
# left for AUTH PLAIN initial responses carrying long addresses.
MAX_COMMAND_LINE = 1024
MAX_BAD_COMMANDS = 10


class SessionEnded(Exception):
    """Stop the session now (the connection was closed or aborted)."""


@dataclass(frozen=True)
class ListenerConfig:
    """What differs between listeners, plus the session timeouts."""

    implicit_tls: bool
    allow_plaintext_login: bool
    idle_timeout: float
    login_timeout: float
    proxy_protocol: bool = False  # every connection starts with a PROXY header


@dataclass(eq=False)
class Pop3Session:
    """Everything one POP3 session knows; the unlocked key lives here and nowhere else."""

    ctx: GatewayContext
    conn: LineConnection
    config: ListenerConfig
    state: str = AUTHORIZATION
    bad_commands: int = 0
    idle: bool = False  # waiting for the next command (safe to stop at once)
    finished: bool = False
    username: str | None = None  # from USER, until PASS
    login_failures: int = 0
    key: MailboxKey | None = field(default=None, repr=False)
    mailbox_id: str | None = None  # set while this session holds the mailbox lock
    lock: MaildropLock | None = None  # the mailbox lock (a store lease), from login on
    maildrop: Maildrop | None = None  # set in TRANSACTION
    retrieved: int = 0  # messages sent whole (RETR, or a TOP that reached the end)
    retrieved_octets: int = 0
    seen: set[str] = field(default_factory=set)  # sent whole, not yet \\Seen
    deleted: int = 0

    @property
    def may_login(self) -> bool:
        return self.conn.tls_active or self.config.allow_plaintext_login

    @property
    def drop(self) -> Maildrop:
        """The maildrop (only TRANSACTION-state handlers ask, and there it is set)."""
        assert self.maildrop is not None
        return self.maildrop

    # --- reading ---------------------------------------------------------------------------
    async def read_command(self) -> bytes | None:
        """The next line without its ending; None when it was too long (already answered)."""
        timeout = (
            self.config.login_timeout if self.state == AUTHORIZATION else self.config.idle_timeout
        )
        self.idle = True
        try:
            async with asyncio.timeout(timeout):
                line = await self.conn.read_line(MAX_COMMAND_LINE)
        except TimeoutError:
            # RFC 1939 §3: on autologout close without a reply and without UPDATE.
            log.info("pop3 %s: idle timeout in %s state", self.conn.client_ip, self.state)
            self.conn.close()
            raise SessionEnded() from None
        except LineTooLong:
            self.protocol_error("-ERR line too long")
            return None
        except ConnectionClosed:
            raise SessionEnded() from None
        finally:
            self.idle = False
        return line.removesuffix(b"\n").removesuffix(b"\r")

    # --- replies -----------------------------------------------------------------------
    def reply(self, text: str) -> None:
        self.conn.write(text.encode("utf-8") + b"\r\n")

    def reply_lines(self, first: str, lines: Iterable[str]) -> None:
        """A multi-line reply: `first`, the lines (dot-stuffed), then the terminator."""
        body = "".join(("." + x if x.startswith(".") else x) + "\r\n" for x in lines)
        self.conn.write(f"{first}\r\n{body}.\r\n".encode())

    def protocol_error(self, text: str) -> None:
        self.bad_commands += 1
        if self.bad_commands >= MAX_BAD_COMMANDS:
            log.info("pop3 %s: too many bad commands, closing", self.conn.client_ip)
            self.reply("-ERR too many bad commands, closing connection")
            self.close()
        else:
            self.reply(text)

    def syntax_error(self, verb: str, usage: str) -> None:
        self.protocol_error(f"-ERR syntax: {verb} {usage}".rstrip())

    async def flush(self) -> None:
        """Wait until the client has taken enough of what was written."""
        try:
            async with asyncio.timeout(self.config.idle_timeout):
                await self.conn.drain()
        except (TimeoutError, ConnectionClosed):
            self.conn.abort()
            raise SessionEnded() from None

    def close(self) -> None:
        self.finished = True
        self.conn.close()

    # --- the end -----------------------------------------------------------------------
    async def record_seen(self) -> None:
        """Flag the messages sent whole as \\Seen (also when the connection dropped)."""
        ids, self.seen = sorted(self.seen), set()
        if not ids or self.mailbox_id is None:
            return
        try:
            await self.ctx.store.messages.set_flags(self.mailbox_id, ids, ["\\Seen"], "add")
        except StoreError:
            log.warning("pop3 %s: could not flag %d messages \\Seen", self.mailbox_id, len(ids))

    async def release_lock(self) -> None:
        """Free the mailbox for the next session (once, however the session ends)."""
        if self.lock is not None:
            lock, self.lock = self.lock, None
            await lock.release()

    async def release(self) -> None:
        """Drop the key and the mailbox lock, log the session's totals, close."""
        self.key = None
        await self.release_lock()
        if self.mailbox_id is not None:
            log.info(
                "pop3 %s: session ended: %d messages retrieved (%d octets), %d deleted",
                self.mailbox_id,
                self.retrieved,
                self.retrieved_octets,
                self.deleted,
            )
            self.mailbox_id = None
        self.conn.close()
