"""What the app keeps for its lifetime, reachable as `request.app[STATE]`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from aiohttp import web

from storage.async_store import AsyncStore
from storage.models import Admin, AdminSession, ApiToken

from .options import WebOptions
from .throttle import LoginThrottle


@dataclass
class WebState:
    store: AsyncStore
    options: WebOptions
    throttle: LoginThrottle
    csrf_key: bytes = b""  # the store's signing key, loaded at application start-up
    totp_last_step: dict[str, int] = field(default_factory=dict)  # replay guard per admin
    source_threads: ThreadPoolExecutor | None = None  # "fetch now", "test connection"

    @property
    def cookie_name(self) -> str:
        return "__Host-jgw-session" if self.options.secure_cookies else "jgw-session"

    @property
    def pre_cookie_name(self) -> str:
        return "__Host-jgw-pre" if self.options.secure_cookies else "jgw-pre"


STATE: web.AppKey[WebState] = web.AppKey("jgw_state", WebState)


def state(request: web.Request) -> WebState:
    return request.app[STATE]


# Per-request values set by the guard middleware (web/app.py, web/session.py).
ADMIN: web.RequestKey[Admin | None] = web.RequestKey("jgw_admin", Admin)
SESSION: web.RequestKey[AdminSession] = web.RequestKey("jgw_session", AdminSession)
SESSION_RAW: web.RequestKey[str] = web.RequestKey("jgw_session_raw", str)
TOKEN: web.RequestKey[ApiToken] = web.RequestKey("jgw_token", ApiToken)
PRE_SESSION: web.RequestKey[str] = web.RequestKey("jgw_pre_session", str)


def signed_in(request: web.Request) -> Admin:
    """The signed-in admin, in a handler behind @access (the guard refused anyone else)."""
    admin = request[ADMIN]
    assert admin is not None, "a handler that needs an admin runs behind @access"
    return admin
