"""The one login call of POP3 and IMAP sessions: authenticate, then count the result."""

from __future__ import annotations

from ..context import GatewayContext
from ..login import LoginFailed, LoginResult


async def sign_in(
    ctx: GatewayContext, protocol: str, username: str, passphrase: str, client_ip: str
) -> LoginResult:
    """The unlocked mailbox, or LoginFailed (already logged, audited and delayed)."""
    try:
        result = await ctx.authenticator.login(username, passphrase, client_ip, protocol)
    except LoginFailed as exc:
        ctx.metrics.logins.labels(protocol=protocol, result="failed").inc()
        if exc.throttled:
            ctx.metrics.login_throttled.inc()
        raise
    ctx.metrics.logins.labels(protocol=protocol, result="ok").inc()
    return result
