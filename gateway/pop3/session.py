"""One POP3 session: the AUTHORIZATION commands, QUIT/UPDATE, and the session's lifetime.

Credentials (USER, PASS, AUTH) are refused until TLS is active unless the listener
allows plaintext login. Every login failure gets the same reply. The unlocked mailbox
key is held by the session only, and dropped when it ends.
"""

from __future__ import annotations

import base64
import binascii
import logging

from storage import StoreError

from ..context import GatewayContext
from ..login import FAILURE_TEXT, LoginFailed
from ..logs import bind_connection
from ..retrieval import ConnectionClosed, LineConnection
from .engine import AUTHORIZATION, TRANSACTION, UPDATE, ListenerConfig, SessionEnded, command
from .maildrop import IN_USE, Maildrop
from .transaction import TransactionCommands

log = logging.getLogger("gateway.pop3")

MAX_LOGIN_FAILURES = 3
TLS_HANDSHAKE_TIMEOUT = 30.0
TLS_REQUIRED = "-ERR [AUTH] TLS required: use STLS first"


class Pop3Session(TransactionCommands):
    def __init__(self, ctx: GatewayContext, conn: LineConnection, config: ListenerConfig) -> None:
        super().__init__(conn, config)
        self.ctx = ctx
        self.username: str | None = None
        self.login_failures = 0
        self.key = None
        self.mailbox_id: str | None = None  # set while this session holds the mailbox lock
        self.retrieved = 0
        self.retrieved_octets = 0
        self.seen: set[str] = set()
        self.deleted = 0

    async def run(self) -> None:
        """Greet, serve commands, and always release the mailbox and the key at the end."""
        bind_connection("pop3")
        self._count("pop3.sessions")
        try:
            self.reply(f"+OK {self.ctx.hostname} POP3 server ready")
            await self.serve()
        except (SessionEnded, ConnectionClosed):
            pass
        except Exception:
            log.exception("pop3 %s: session failed", self.conn.peer_ip)
            self.conn.abort()
        finally:
            try:
                await self._record_seen()
            finally:
                self._end()

    async def _record_seen(self) -> None:
        """Flag the messages sent whole as \\Seen (also when the connection dropped)."""
        ids, self.seen = sorted(self.seen), set()
        if not ids or self.mailbox_id is None:
            return
        try:
            await self.ctx.store.messages.set_flags(self.mailbox_id, ids, ["\\Seen"], "add")
        except StoreError:
            log.warning("pop3 %s: could not flag %d messages \\Seen", self.mailbox_id, len(ids))

    def _end(self) -> None:
        self.key = None
        if self.mailbox_id is not None:
            IN_USE.release(self.mailbox_id)
            log.info(
                "pop3 %s: session ended: %d messages retrieved (%d octets), %d deleted",
                self.mailbox_id,
                self.retrieved,
                self.retrieved_octets,
                self.deleted,
            )
            self.mailbox_id = None
        self.conn.close()

    @property
    def may_login(self) -> bool:
        return self.conn.tls_active or self.config.allow_plaintext_login

    # --- capabilities and TLS -------------------------------------------------------------
    @command(AUTHORIZATION, TRANSACTION)
    async def handle_CAPA(self, arg: str) -> None:
        if arg:
            return self.syntax_error("CAPA", "")
        caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.state == AUTHORIZATION:
            if self.may_login:
                caps += ["USER", "SASL PLAIN"]
            if not self.conn.tls_active:
                caps.append("STLS")
        caps.append("IMPLEMENTATION Journal-Gateway")
        self.reply_lines("+OK capability list follows", caps)

    @command(AUTHORIZATION)
    async def handle_STLS(self, arg: str) -> None:
        if arg:
            return self.syntax_error("STLS", "")
        if self.conn.tls_active:
            return self.protocol_error("-ERR TLS is already active")
        self.username = None
        self.reply("+OK begin TLS negotiation")
        try:
            # pop3.login_timeout includes the handshake (as for POP3S), capped at 30 s
            timeout = min(TLS_HANDSHAKE_TIMEOUT, self.config.login_timeout)
            await self.conn.start_tls(self.ctx.tls.context, timeout)
        except ConnectionClosed as exc:  # the cause: ssl.SSLError, TimeoutError...
            cause = type(exc.__cause__ or exc).__name__
            log.info("pop3 %s: TLS handshake failed: %s", self.conn.peer_ip, cause)
            self.conn.abort()
            raise SessionEnded() from None

    # --- credentials -------------------------------------------------------------------------
    @command(AUTHORIZATION)
    async def handle_USER(self, arg: str) -> None:
        if not self.may_login:
            return self.protocol_error(TLS_REQUIRED)
        name = arg.strip()
        if not name:
            return self.syntax_error("USER", "<mailbox id or address>")
        self.username = name
        self.reply("+OK send PASS")

    @command(AUTHORIZATION)
    async def handle_PASS(self, arg: str) -> None:
        if not self.may_login:
            return self.protocol_error(TLS_REQUIRED)
        if self.username is None:
            return self.protocol_error("-ERR send USER first")
        username, self.username = self.username, None
        if not arg.strip():
            return self.syntax_error("PASS", "<passphrase>")
        await self._login(username, arg)

    @command(AUTHORIZATION)
    async def handle_AUTH(self, arg: str) -> None:
        if not self.may_login:
            return self.protocol_error(TLS_REQUIRED)
        parts = arg.split(" ")
        if not arg:
            return self.reply_lines("+OK supported SASL mechanisms follow", ["PLAIN"])
        if len(parts) > 2:
            return self.syntax_error("AUTH", "<mechanism> [<initial response>]")
        if parts[0].upper() != "PLAIN":
            return self.protocol_error("-ERR unsupported SASL mechanism")
        response = parts[1] if len(parts) == 2 else await self._continuation()
        if response is None:  # the continuation line was too long: already answered
            return None
        if response == "*":
            return self.reply("-ERR authentication canceled")
        credentials = _decode_plain("" if response == "=" else response)
        if credentials is None:
            return self.protocol_error("-ERR malformed SASL PLAIN response")
        authzid, authcid, passphrase = credentials
        if authzid and authzid.lower() != authcid.lower():
            log.info("pop3 %s: AUTH PLAIN with a different authzid", self.conn.peer_ip)
            return self._failed()
        await self._login(authcid, passphrase)

    async def _continuation(self) -> str | None:
        self.reply("+ ")
        await self.flush()
        line = await self._next_command()
        return None if line is None else line.decode("utf-8", "replace").strip()

    async def _login(self, username: str, passphrase: str) -> None:
        try:
            result = await self.ctx.authenticator.login(
                username, passphrase, self.conn.peer_ip, "pop3"
            )
        except LoginFailed:  # the Authenticator logged and audited the reason
            return self._failed()
        mailbox_id = result.mailbox.id
        if not IN_USE.acquire(mailbox_id):
            log.info("pop3 %s: refused from %s: in use", mailbox_id, self.conn.peer_ip)
            return self.reply("-ERR [IN-USE] mailbox is locked by another POP3 session")
        self.mailbox_id = mailbox_id
        listed = await self.ctx.store.messages.list(mailbox_id)
        self.key = result.key
        self.maildrop = Maildrop.snapshot(mailbox_id, result.key, listed)
        self.state = TRANSACTION
        count, octets = self.maildrop.stat()
        self.reply(f"+OK {count} messages ({octets} octets)")

    def _failed(self) -> None:
        """The one reply for every failed login; the third in a session also disconnects."""
        self.login_failures += 1
        self._count("pop3.login_failures")
        self.reply(f"-ERR [AUTH] {FAILURE_TEXT}")
        if self.login_failures >= MAX_LOGIN_FAILURES:
            self.close()

    # --- leaving ---------------------------------------------------------------------------------
    @command(AUTHORIZATION, TRANSACTION)
    async def handle_QUIT(self, arg: str) -> None:
        if arg:
            return self.syntax_error("QUIT", "")
        if self.state == AUTHORIZATION:
            self.reply("+OK bye")
            return self.close()
        self.state = UPDATE
        ids = self.maildrop.marked_ids()
        self.seen.difference_update(ids)
        await self._record_seen()
        try:
            self.deleted = await self.ctx.store.messages.delete(self.maildrop.mailbox_id, ids)
        except StoreError:
            log.exception("pop3 %s: deleting at QUIT failed", self.maildrop.mailbox_id)
            self.reply("-ERR [SYS/TEMP] some deleted messages were not removed")
            return self.close()
        self._count("pop3.messages_deleted", self.deleted)
        self.reply(f"+OK bye ({self.deleted} messages deleted)")
        self.close()

    def _count(self, name: str, amount: int = 1) -> None:
        self.ctx.counters[name] = self.ctx.counters.get(name, 0) + amount


def _decode_plain(response: str) -> tuple[str, str, str] | None:
    """RFC 4616 message: authzid NUL authcid NUL passwd, base64-encoded."""
    try:
        decoded = base64.b64decode(response, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    parts = decoded.split("\0")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return None
    return parts[0], parts[1], parts[2]
