"""Sign in (password + TOTP or recovery code, throttled), sign out, health and metrics."""

from __future__ import annotations

import hmac
import logging
import math

from aiohttp import web

from storage.actions import AuditAction
from storage.errors import NotFound, SealError
from storage.models import Admin
from storage.policy import must_enrol

from .. import session, totp
from ..enrolment import ENROL_PATH, while_enrolling
from ..i18n import _, ngettext
from ..redirects import safe_next
from ..render import form_text, redirect, render
from ..security import access
from ..state import ADMIN, WebState, signed_in, state
from ..views import audit

routes = web.RouteTableDef()
log = logging.getLogger("web.auth")
_MAX_FIELD = 256


def seal_key_problem() -> str:
    """What an admin sees when TOTP secrets cannot be unsealed (the log says why)."""
    return _(
        "Two-factor sign-in is unavailable: the gateway's seal key is missing or wrong."
        " Ask its operator to look at the gateway log."
    )


@routes.get("/")
@access("viewer")
async def home(request: web.Request) -> web.StreamResponse:
    raise redirect("/mailboxes")


@routes.get("/login")
@access("public")
async def login_page(request: web.Request) -> web.StreamResponse:
    if request[ADMIN] is not None:
        raise redirect("/")
    session.pre_session(request)
    target = safe_next(request.query.get("next", "/"))
    return await render(request, "login.html", {"next": target, "error": ""})


@routes.post("/login")
@access("public")
async def login(request: web.Request) -> web.StreamResponse:
    st = state(request)
    form = await request.post()
    name = form_text(form, "username", 64)
    password = str(form.get("password", ""))[:_MAX_FIELD]
    code = form_text(form, "code", 64)
    target = safe_next(form_text(form, "next") or "/")
    keys = [f"ip:{request.remote}", f"name:{name.lower()}"]
    wait = st.throttle.retry_after(keys)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        message = ngettext(
            "Too many failed sign-ins. Try again in %(n)d minute.",
            "Too many failed sign-ins. Try again in %(n)d minutes.",
            minutes,
        ) % {"n": minutes}
        await st.store.audit.record(
            name or "anonymous",
            str(AuditAction.ADMIN_LOGIN_THROTTLED),
            name,
            "",
            request.remote or "",
        )
        return await _login_error(request, message, name, target, 429)
    try:
        admin = await _check_credentials(st, name, password, code)
    except SealError as exc:
        # Only after the right password: the second factor cannot be checked at all.
        log.error("sign-in of %s: %s", name, exc)
        return await _login_error(request, seal_key_problem(), name, target, 503)
    if admin is None:
        st.throttle.failure(keys)
        await st.store.audit.record(
            name or "anonymous", str(AuditAction.ADMIN_LOGIN_FAILED), name, "", request.remote or ""
        )
        message = _("Wrong name, password or authentication code.")
        return await _login_error(request, message, name, target, 401)
    st.throttle.success([f"name:{name.lower()}"])
    forced = must_enrol(admin, st.options.require_totp)
    response = web.HTTPSeeOther(ENROL_PATH if forced else target)
    await session.start(request, response, admin.name)
    request[ADMIN] = admin
    await audit(request, AuditAction.ADMIN_LOGIN, admin.name)
    if forced:
        await audit(request, AuditAction.TOTP_REQUIRED_ENROLMENT, admin.name, f"role={admin.role}")
    raise response


async def _login_error(
    request: web.Request, message: str, name: str, target: str, status: int
) -> web.Response:
    context = {"error": message, "values": {"username": name}, "next": target}
    return await render(request, "login.html", context, status=status)


async def _check_credentials(st: WebState, name: str, password: str, code: str) -> Admin | None:
    if not name or not password:
        return None
    admin = await st.store.admins.verify_password(name, password)
    if admin is None or not admin.totp_enabled:
        return admin
    return admin if await check_second_factor(st, admin.name, code) else None


async def check_second_factor(st: WebState, name: str, code: str) -> bool:
    """A current TOTP code (not replayed) or an unused recovery code, consumed."""
    try:
        secret, hashes = await st.store.admins.totp(name)
    except NotFound:
        return False
    if secret is None:
        return True
    step = totp.matching_step(secret, code, st.options.clock(), st.totp_last_step.get(name, -1))
    if step is not None:
        st.totp_last_step[name] = step
        return True
    remaining = None
    if len(code) >= 12:
        digest = await st.store.sealing.recovery_code_digest(name, totp.hash_recovery_code(code))
        remaining = totp.use_recovery_code(digest, hashes)
    if remaining is None:
        return False
    await st.store.admins.set_totp(name, secret, remaining)
    await st.store.audit.record(
        name, str(AuditAction.RECOVERY_CODE_USED), name, f"{len(remaining)} left", ""
    )
    return True


@routes.post("/logout")
@access("self")
@while_enrolling
async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/login")
    await audit(request, AuditAction.ADMIN_LOGOUT, signed_in(request).name)
    await session.end(request, response)
    raise response


@routes.get("/healthz")
@access("public")
async def healthz(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


@routes.get("/readyz")
@access("public")
async def readyz(request: web.Request) -> web.StreamResponse:
    """Readiness for load balancers and orchestrators: every check the caller runs passed."""
    check = state(request).options.readiness_check
    if check is None:
        raise web.HTTPNotFound()
    results = await check()
    ready = all(results.values())
    return web.json_response({"ready": ready, "checks": results}, status=200 if ready else 503)


@routes.get("/metrics")
@access("public")
async def metrics(request: web.Request) -> web.StreamResponse:
    """Extension point: the caller passes `WebOptions.metrics_handler` (Prometheus).

    Per-mailbox series name every mailbox, so the bearer token is always required;
    with no token configured nothing is served (fail closed)."""
    options = state(request).options
    if options.metrics_handler is None:
        raise web.HTTPNotFound()
    if not options.metrics_token or not _bearer_matches(request, options.metrics_token):
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return await options.metrics_handler(request)


def _bearer_matches(request: web.Request, expected: str) -> bool:
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), expected.encode()
    )
