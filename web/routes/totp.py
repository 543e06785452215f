"""Two-factor sign-in: TOTP enrolment with a locally rendered QR code, recovery codes."""

from __future__ import annotations

import logging

from aiohttp import web

from storage import actions
from storage.errors import Forbidden, SealError, WrongPassword
from storage.policy import totp_required

from .. import session, totp
from ..enrolment import while_enrolling
from ..i18n import _
from ..render import form_text, redirect, render
from ..security import access
from ..state import signed_in, state
from ..views import perform
from .auth import seal_key_problem
from .settings import show_once

log = logging.getLogger("web.totp")
routes = web.RouteTableDef()
PENDING = "totp_pending"


async def _pending_secret(request: web.Request) -> str | None:
    """The secret being enrolled, kept sealed in the session row (never in plaintext)."""
    sealed = session.data(request).get(PENDING)
    if not sealed:
        return None
    try:
        return await state(request).store.sealing.unseal(PENDING, signed_in(request).name, sealed)
    except SealError:
        return None  # sealed under another key, or by an older version: start again


async def _new_pending_secret(request: web.Request) -> str:
    secret = totp.new_secret()
    values = session.data(request)
    values[PENDING] = await state(request).store.sealing.seal(
        PENDING, signed_in(request).name, secret
    )
    await session.save(request, values)
    return secret


async def _enrol_page(
    request: web.Request, errors: dict | None = None, status: int = 200
) -> web.Response:
    admin = signed_in(request)
    context: dict = {
        "nav": "settings",
        "errors": errors or {},
        "required": totp_required(admin.role, state(request).options.require_totp),
    }
    if not admin.totp_enabled:
        try:
            secret = await _pending_secret(request) or await _new_pending_secret(request)
        except SealError as exc:
            log.error("two-factor enrolment of %s: %s", admin.name, exc)
            context |= {"unavailable": seal_key_problem()}
            return await render(request, "totp.html", context, status=503)
        uri = totp.provisioning_uri(secret, admin.name)
        context |= {"secret": secret, "qr": totp.qr_data_uri(uri)}
    return await render(request, "totp.html", context, status=status)


@routes.get("/settings/totp")
@access("viewer")
@while_enrolling
async def totp_page(request: web.Request) -> web.StreamResponse:
    return await _enrol_page(request)


@routes.post("/settings/totp")
@access("self")
@while_enrolling
async def enrol(request: web.Request) -> web.StreamResponse:
    admin = signed_in(request)
    if admin.totp_enabled:
        raise redirect("/settings/totp")
    form = await request.post()
    secret = await _pending_secret(request)
    st = state(request)
    step = (
        totp.matching_step(secret, form_text(form, "code", 16), st.options.clock())
        if secret
        else None
    )
    if step is None or secret is None:  # no secret pending: no step either
        errors = {
            "code": _("That code is not right. Check the time on your phone and try the next code.")
        }
        return await _enrol_page(request, errors, 400)
    codes = totp.new_recovery_codes()
    hashes = tuple(totp.hash_recovery_code(c) for c in codes)
    await perform(request, actions.enable_totp, actions.EnableTotp(secret, hashes))
    st.totp_last_step[admin.name] = step
    values = session.data(request)
    values.pop(PENDING, None)
    await session.save(request, values)
    return await show_once(request, "recovery", codes=codes)


@routes.post("/settings/totp/disable")
@access("self")
async def disable(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    required = tuple(state(request).options.require_totp)
    wanted = actions.DisableOwnTotp(str(form.get("password", "")), required)
    try:
        await perform(request, actions.disable_own_totp, wanted, keep=(Forbidden,))
    except Forbidden:
        message = _("Your account must use two-factor sign-in: it cannot be turned off.")
        await session.flash(request, message, "error")
        raise redirect("/settings/totp") from None
    except WrongPassword:
        return await _enrol_page(
            request, {"password": _("That is not your current password.")}, 400
        )
    await session.flash(request, _("Two-factor sign-in is off."))
    raise redirect("/settings")
