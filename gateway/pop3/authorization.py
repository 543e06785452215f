"""AUTHORIZATION-state commands (CAPA, STLS, USER, PASS, AUTH) and QUIT, which enters UPDATE.

Credentials (USER, PASS, AUTH) are refused until TLS is active unless the listener
allows plaintext login. Every login failure gets the same reply. The unlocked mailbox
key is held by the session only, and dropped when it ends.
"""

from __future__ import annotations

import base64
import binascii
import logging

from storage import StoreError

from ..login import FAILURE_TEXT, LoginFailed
from ..retrieval import ConnectionClosed
from ..retrieval.sign_in import sign_in
from .arguments import AuthArgs, NoArgs, Text
from .maildrop import Maildrop, MaildropLock
from .state import AUTHORIZATION, TRANSACTION, UPDATE, Pop3Session, SessionEnded

log = logging.getLogger("gateway.pop3")

MAX_LOGIN_FAILURES = 3
TLS_HANDSHAKE_TIMEOUT = 30.0
TLS_REQUIRED = "-ERR [AUTH] TLS required: use STLS first"


# --- capabilities and TLS ----------------------------------------------------------------
async def capabilities(s: Pop3Session, args: NoArgs) -> None:
    caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
    if s.state == AUTHORIZATION:
        if s.may_login:
            caps += ["USER", "SASL PLAIN"]
        if not s.conn.tls_active:
            caps.append("STLS")
    caps.append("IMPLEMENTATION Journal-Gateway")
    s.reply_lines("+OK capability list follows", caps)


async def start_tls(s: Pop3Session, args: NoArgs) -> None:
    if s.conn.tls_active:
        return s.protocol_error("-ERR TLS is already active")
    s.username = None
    s.reply("+OK begin TLS negotiation")
    try:
        # pop3.login_timeout includes the handshake (as for POP3S), capped at 30 s
        timeout = min(TLS_HANDSHAKE_TIMEOUT, s.config.login_timeout)
        await s.conn.start_tls(s.ctx.tls.context, timeout)
    except ConnectionClosed as exc:  # the cause: ssl.SSLError, TimeoutError...
        cause = type(exc.__cause__ or exc).__name__
        log.info("pop3 %s: TLS handshake failed: %s", s.conn.client_ip, cause)
        s.conn.abort()
        raise SessionEnded() from None


# --- credentials -------------------------------------------------------------------------
async def user(s: Pop3Session, args: Text) -> None:
    if not s.may_login:
        return s.protocol_error(TLS_REQUIRED)
    name = args.value.strip()
    if not name:
        return s.syntax_error("USER", "<mailbox id or address>")
    s.username = name
    s.reply("+OK send PASS")


async def password(s: Pop3Session, args: Text) -> None:
    if not s.may_login:
        return s.protocol_error(TLS_REQUIRED)
    if s.username is None:
        return s.protocol_error("-ERR send USER first")
    username, s.username = s.username, None
    if not args.value.strip():
        return s.syntax_error("PASS", "<passphrase>")
    await _login(s, username, args.value)


async def authenticate(s: Pop3Session, args: AuthArgs) -> None:
    if not s.may_login:
        return s.protocol_error(TLS_REQUIRED)
    if args.mechanism is None:
        return s.reply_lines("+OK supported SASL mechanisms follow", ["PLAIN"])
    if args.mechanism != "PLAIN":
        return s.protocol_error("-ERR unsupported SASL mechanism")
    response = args.initial if args.initial is not None else await _continuation(s)
    if response is None:  # the continuation line was too long: already answered
        return None
    if response == "*":
        return s.reply("-ERR authentication canceled")
    credentials = _decode_plain("" if response == "=" else response)
    if credentials is None:
        return s.protocol_error("-ERR malformed SASL PLAIN response")
    authzid, authcid, passphrase = credentials
    if authzid and authzid.lower() != authcid.lower():
        log.info("pop3 %s: AUTH PLAIN with a different authzid", s.conn.client_ip)
        return _failed(s)
    await _login(s, authcid, passphrase)


async def _continuation(s: Pop3Session) -> str | None:
    s.reply("+ ")
    await s.flush()
    line = await s.read_command()
    return None if line is None else line.decode("utf-8", "replace").strip()


async def _login(s: Pop3Session, username: str, passphrase: str) -> None:
    try:
        result = await sign_in(s.ctx, "pop3", username, passphrase, s.conn.client_ip)
    except LoginFailed:  # the Authenticator logged and audited the reason
        return _failed(s)
    mailbox_id = result.mailbox.id
    lock = MaildropLock(s.ctx.store, mailbox_id, s.ctx.settings.pop3.lock_ttl, s.conn.abort)
    if not await lock.acquire():
        log.info("pop3 %s: refused from %s: in use", mailbox_id, s.conn.client_ip)
        return s.reply("-ERR [IN-USE] mailbox is locked by another POP3 session")
    s.lock, s.mailbox_id = lock, mailbox_id
    listed = await s.ctx.store.messages.listing(mailbox_id)
    s.key = result.key
    s.maildrop = Maildrop.snapshot(mailbox_id, result.key, listed)
    s.state = TRANSACTION
    count, octets = s.maildrop.stat()
    s.reply(f"+OK {count} messages ({octets} octets)")


def _failed(s: Pop3Session) -> None:
    """The one reply for every failed login; the third in a session also disconnects."""
    s.login_failures += 1
    s.ctx.metrics.pop3_login_failures.inc()
    s.reply(f"-ERR [AUTH] {FAILURE_TEXT}")
    if s.login_failures >= MAX_LOGIN_FAILURES:
        s.close()


# --- leaving -----------------------------------------------------------------------------
async def quit_session(s: Pop3Session, args: NoArgs) -> None:
    if s.state == AUTHORIZATION:
        s.reply("+OK bye")
        return s.close()
    s.state = UPDATE
    drop = s.drop
    ids = drop.marked_ids()
    s.seen.difference_update(ids)
    await s.record_seen()
    try:
        s.deleted = await s.ctx.store.messages.delete(drop.mailbox_id, ids)
    except StoreError:
        log.exception("pop3 %s: deleting at QUIT failed", drop.mailbox_id)
        s.reply("-ERR [SYS/TEMP] some deleted messages were not removed")
        return s.close()
    s.ctx.metrics.pop3_messages_deleted.inc(s.deleted)
    await s.release_lock()  # UPDATE is done: a client reconnecting at once gets in
    s.reply(f"+OK bye ({s.deleted} messages deleted)")
    s.close()


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
