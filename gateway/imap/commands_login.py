"""Commands of any state (CAPABILITY, NOOP, ID, LOGOUT) and of the not-authenticated
state (STARTTLS, LOGIN, AUTHENTICATE)."""

from __future__ import annotations

import asyncio
import base64
import binascii

from ..login import LoginFailed
from ..retrieval.sign_in import sign_in
from .arguments import AuthenticateArgs, IdArgs, LoginArgs, NoArgs, Request
from .command_reader import LineTooLong
from .state import AUTH, LOGOUT, ImapSession, Reply


async def capability(s: ImapSession, req: Request[NoArgs]) -> Reply:
    await s.conn.send(b"* CAPABILITY %s\r\n" % s.capabilities())
    return "OK", "CAPABILITY completed"


async def noop(s: ImapSession, req: Request[NoArgs]) -> Reply:
    return "OK", f"{req.name} completed"


async def identify(s: ImapSession, req: Request[IdArgs]) -> Reply:
    await s.conn.send(b'* ID ("name" "Journal Gateway")\r\n')
    return "OK", "ID completed"


async def logout(s: ImapSession, req: Request[NoArgs]) -> Reply:
    await s.conn.send(b"* BYE logging out\r\n")
    await s.tagged(req.tag, "OK", "LOGOUT completed")
    s.state = LOGOUT
    return None


async def start_tls(s: ImapSession, req: Request[NoArgs]) -> Reply:
    if s.conn.tls_active:
        return "BAD", "TLS is already active"
    await s.tagged(req.tag, "OK", "Begin TLS negotiation now")
    # A client that never starts the handshake is dropped like an idle one.
    await s.conn.start_tls(s.ctx.tls.context, s.timeout())
    return None


async def login(s: ImapSession, req: Request[LoginArgs]) -> Reply:
    if not s.login_allowed():
        return "NO", "[PRIVACYREQUIRED] LOGIN is disabled before STARTTLS"
    return await _sign_in(s, req.args.user, req.args.password)


async def authenticate(s: ImapSession, req: Request[AuthenticateArgs]) -> Reply:
    if req.args.mechanism != "PLAIN":
        return "NO", "[CANNOT] unsupported mechanism; use PLAIN"
    if not s.login_allowed():
        return "NO", "[PRIVACYREQUIRED] authentication is disabled before STARTTLS"
    response = req.args.initial
    if response is None:
        await s.conn.send(b"+ \r\n")
        try:
            async with asyncio.timeout(s.timeout()):
                line = await s.conn.read_line()
            response = line.decode("ascii", "replace").strip()
        except LineTooLong:
            return "BAD", "authentication response too long"
    if response == "*":
        return "BAD", "authentication cancelled"
    credentials = _decode_plain("" if response == "=" else response)
    if credentials is None:
        return "BAD", "malformed PLAIN response"
    return await _sign_in(s, *credentials)


async def _sign_in(s: ImapSession, user: str, password: str) -> Reply:
    try:
        s.login = await sign_in(s.ctx, "imap", user, password, s.conn.client_ip)
    except LoginFailed as exc:
        return "NO", f"[AUTHENTICATIONFAILED] {exc}"
    s.state = AUTH
    return "OK", f"[CAPABILITY {s.capabilities().decode()}] logged in"


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
