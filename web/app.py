"""The application factory and its middlewares.

    app = create_app(AsyncStore(store), WebOptions(data_dir=...))

The caller (`gateway serve`) runs it on the web listener with its TLS context.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from storage.async_store import AsyncStore
from storage.errors import NotFound

from . import enrolment, i18n, session
from .options import WebOptions
from .redirects import login_url
from .render import render, setup_templates
from .routes import ROUTE_TABLES
from .security import UNSAFE, add_headers, allowed, cross_site, csrf_valid, route_level
from .state import ADMIN, STATE, TOKEN, WebState, state
from .throttle import LoginThrottle

log = logging.getLogger("web")
STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY = 1 << 20
CSRF_KEY_NAME = "web-csrf"


def create_app(store: AsyncStore, options: WebOptions) -> web.Application:
    """The console and API as an aiohttp application (not yet running)."""
    app = web.Application(
        middlewares=[errors_middleware, guard_middleware], client_max_size=MAX_BODY
    )
    app[STATE] = WebState(
        store=store,
        options=options,
        throttle=LoginThrottle(options.login_max_failures, options.login_window, options.clock),
    )
    app.on_startup.append(_load_csrf_key)
    app.on_cleanup.append(_stop_source_threads)
    setup_templates(app)
    for table in ROUTE_TABLES:
        app.add_routes(table)
    app.router.add_static("/static", STATIC_DIR, name="static", append_version=False)
    app.on_response_prepare.append(add_headers)
    return app


async def _load_csrf_key(app: web.Application) -> None:
    """The key is the store's, so every worker and node signs and checks alike."""
    app[STATE].csrf_key = await app[STATE].store.sessions.signing_key(CSRF_KEY_NAME)


async def _stop_source_threads(app: web.Application) -> None:
    threads = app[STATE].source_threads
    if threads is not None:
        threads.shutdown(wait=False, cancel_futures=True)


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Errors as a page (console) or as JSON (API); never a traceback to the client."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or (is_api(request) and exc.content_type == "application/json"):
            raise
        return await _error_response(request, exc.status, exc.reason, exc.headers)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return await _error_response(request, 500, "Internal Server Error", {})


async def _error_response(
    request: web.Request, status: int, reason: str, headers: Any
) -> web.StreamResponse:
    keep = {k: v for k, v in headers.items() if k in ("WWW-Authenticate", "Allow", "Retry-After")}
    if is_api(request) or request.path in ("/healthz", "/readyz", "/metrics"):
        response: web.StreamResponse = web.json_response({"error": reason.lower()}, status=status)
    else:
        response = await render(request, "error.html", {"status": status}, status=status)
    response.headers.update(keep)
    return response


@web.middleware
async def guard_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Authentication, access level, cross-site refusal and CSRF, before any handler."""
    request[ADMIN] = None
    remembered = request.cookies.get(session.LANGUAGE_COOKIE, "")
    if remembered in i18n.LANGUAGES:
        i18n.set_language(remembered)
    else:
        i18n.set_language(i18n.negotiate(request.headers.get("Accept-Language", "")))
    if request.match_info.http_exception is not None:
        await session.load(request)
        _use_admin_language(request)
        return await handler(request)  # 404 / 405 from the router
    level = route_level(request)
    if level is None:
        log.error("route %s has no access level: refused", request.path)
        raise web.HTTPForbidden()
    if request.method in UNSAFE and cross_site(request):
        raise web.HTTPForbidden(reason="Cross-site request refused")
    if is_api(request):
        await _authenticate_token(request)
    else:
        await session.load(request)
        _use_admin_language(request)
    admin = request[ADMIN]
    if level != "public":
        if admin is None:
            raise _unauthenticated(request)
        refusal = await enrolment.gate(request)
        if refusal is not None:
            return refusal
        if not allowed(admin, level, request.method):
            raise web.HTTPForbidden()
    if request.method in UNSAFE and not is_api(request):
        await _check_csrf(request)
    return await handler(request)


def _use_admin_language(request: web.Request) -> None:
    admin = request[ADMIN]
    if admin is not None:
        i18n.set_language(admin.language)


def _unauthenticated(request: web.Request) -> web.HTTPException:
    if is_api(request):
        return web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="gateway"'})
    if request.method == "GET":
        return web.HTTPFound(login_url(request.rel_url.path))
    return web.HTTPSeeOther("/login")


async def _check_csrf(request: web.Request) -> None:
    presented = request.headers.get("X-CSRF-Token")
    if presented is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get("csrf_token")
        presented = value if isinstance(value, str) else None
    if not csrf_valid(state(request).csrf_key, session.csrf_binding(request), presented):
        raise web.HTTPForbidden(reason="Invalid or missing CSRF token")


def _token_owner(store: Any, raw: str, now: float):
    token = store.tokens.verify(raw, now)
    if token is None:
        return None, None
    try:
        admin = store.admins.get(token.admin)
    except NotFound:
        return None, None
    return (token, admin) if not admin.disabled else (None, None)


async def _authenticate_token(request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip() or len(raw) > 200:
        return
    st = state(request)
    token, admin = await st.store.act(_token_owner, raw.strip(), st.options.clock())
    if token is not None:
        request[ADMIN], request[TOKEN] = admin, token
