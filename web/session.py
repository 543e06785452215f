"""Server-side console sessions: the cookie holds a random secret, the store its hash.

A session ends after `session_idle_timeout` seconds without a request, after
`session_max_age` seconds in any case, when its admin is disabled or deleted, on sign
out, and for every session of an admin on "sign out everywhere".
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from aiohttp import web

from storage.errors import NotFound

from .security import csrf_token
from .state import ADMIN, PRE_SESSION, SESSION, SESSION_RAW, WebState, state

_TOUCH_EVERY = 30.0  # seconds: last_seen is written at most this often
_MAX_ONCE = 20


def _load(store: Any, raw: str, now: float, idle: float, max_age: float):
    """(session, admin) or (None, None); runs on the store's thread pool."""
    session = store.sessions.get(raw)
    if session is None:
        return None, None
    if now - session.last_seen > idle or now - session.created > max_age:
        store.sessions.delete(raw)
        return None, None
    try:
        admin = store.admins.get(session.admin)
    except NotFound:
        return None, None
    if admin.disabled:
        store.sessions.delete_for_admin(admin.name)
        return None, None
    if now - session.last_seen > _TOUCH_EVERY:
        store.sessions.touch(raw, now)
    return session, admin


async def load(request: web.Request) -> None:
    """Attach request[ADMIN], ["session"], ["session_raw"] when the cookie is valid."""
    st = state(request)
    request[ADMIN] = None
    raw = request.cookies.get(st.cookie_name)
    if not raw or len(raw) > 100:
        return
    opts = st.options
    session, admin = await st.store.act(
        _load,
        raw,
        opts.clock(),
        opts.session_idle_timeout,
        opts.session_max_age,
    )
    if session is not None:
        request[ADMIN], request[SESSION], request[SESSION_RAW] = admin, session, raw


def _cookie_args(st: WebState) -> dict[str, Any]:
    return {
        "path": "/",
        "httponly": True,
        "secure": st.options.secure_cookies,
        "samesite": "Strict",
    }


async def start(request: web.Request, response: web.StreamResponse, admin: str) -> None:
    """A fresh session for `admin` (never reusing a cookie the browser brought)."""
    st = state(request)
    now = st.options.clock()
    await st.store.sessions.purge(
        now - st.options.session_idle_timeout, now - st.options.session_max_age
    )
    _, raw = await st.store.sessions.create(
        admin,
        request.remote or "",
        request.headers.get("User-Agent", ""),
        st.options.clock(),
    )
    response.set_cookie(st.cookie_name, raw, **_cookie_args(st))


async def end(request: web.Request, response: web.StreamResponse) -> None:
    st = state(request)
    raw = request.get(SESSION_RAW)
    if raw:
        await st.store.sessions.delete(raw)
    response.del_cookie(st.cookie_name, path="/")
    admin = request.get(ADMIN)
    if admin is not None:
        remember_language(request, response, admin.language)


LANGUAGE_COOKIE = "jgw-lang"


def remember_language(request: web.Request, response: web.StreamResponse, lang: str) -> None:
    """The sign-in page after sign-out speaks the admin's language (not a secret)."""
    args = _cookie_args(state(request)) | {"max_age": 365 * 86400}
    response.set_cookie(LANGUAGE_COOKIE, lang, **args)


def pre_session(request: web.Request, response: web.StreamResponse | None = None) -> str:
    """The anonymous CSRF binding for the sign-in form (a random cookie)."""
    st = state(request)
    value = request.get(PRE_SESSION) or request.cookies.get(st.pre_cookie_name)
    if not value or len(value) > 100:
        value = secrets.token_urlsafe(24)
    request[PRE_SESSION] = value
    if response is not None:
        response.set_cookie(st.pre_cookie_name, value, **_cookie_args(st))
    return value


def csrf_binding(request: web.Request) -> str | None:
    if request.get(SESSION_RAW):
        return "s|" + request[SESSION_RAW]
    st = state(request)
    pre = request.get(PRE_SESSION) or request.cookies.get(st.pre_cookie_name)
    return "p|" + pre if pre else None


def token_for(request: web.Request) -> str:
    binding = csrf_binding(request)
    if binding is None:
        binding = "p|" + pre_session(request)
    return csrf_token(state(request).csrf_key, binding)


# --- per-session data: flash messages, one-time form ids, pending TOTP secret ------
def data(request: web.Request) -> dict:
    session = request.get(SESSION)
    return dict(session.data) if session is not None else {}


async def save(request: web.Request, values: dict) -> None:
    raw = request.get(SESSION_RAW)
    if raw:
        await state(request).store.sessions.set_data(raw, values)
        request[SESSION] = replace(request[SESSION], data=values)


async def flash(request: web.Request, text: str, kind: str = "ok") -> None:
    values = data(request)
    values["flash"] = [*values.get("flash", []), [kind, text]][-5:]
    await save(request, values)


async def pop_flashes(request: web.Request) -> list[tuple[str, str]]:
    values = data(request)
    messages = values.pop("flash", [])
    if messages:
        await save(request, values)
    return [(kind, text) for kind, text in messages]


def new_once() -> str:
    """A one-time form id: a resubmitted form (reload, back) is not acted on twice."""
    return secrets.token_urlsafe(16)


def once_used(request: web.Request, once: str) -> str | None:
    """Where a form with this id already led, or None if it was never submitted."""
    return data(request).get("once", {}).get(once) if once else None


async def mark_once(request: web.Request, once: str, target: str) -> None:
    if not once:
        return
    values = data(request)
    done = dict(values.get("once", {}))
    done[once] = target
    values["once"] = dict(list(done.items())[-_MAX_ONCE:])
    await save(request, values)
