"""Forced two-factor sign-in (`web.require_totp`, storage.policy decides who).

A signed-in admin who must use TOTP and has not enrolled may only open the enrolment
page, enrol, sign out and load static files (public routes stay public). Other pages
redirect to the enrolment page, other forms are refused with 403, and the admin's API
tokens get 403 with a JSON error until the admin enrols.
"""

from __future__ import annotations

import json

from aiohttp import web

from storage.actions import AuditAction
from storage.policy import must_enrol

from .i18n import _
from .render import render
from .security import Handler
from .state import ADMIN, signed_in, state
from .views import audit

ENROL_PATH = "/settings/totp"
API_MESSAGE = (
    "two-factor enrolment is required: sign in to the console and turn on two-factor"
    " sign-in before using the API"
)


def while_enrolling(handler: Handler) -> Handler:
    """Mark a console route an admin who must enrol may still use."""
    # A mark on the function object itself, read back with getattr by gate().
    handler.while_enrolling = True  # type: ignore[attr-defined]
    return handler


def must_enrol_now(request: web.Request) -> bool:
    admin = request.get(ADMIN)
    return admin is not None and must_enrol(admin, state(request).options.require_totp)


async def gate(request: web.Request) -> web.StreamResponse | None:
    """None when the request may go on; otherwise raise or return the refusal."""
    if not must_enrol_now(request):
        return None
    api = request.path.startswith("/api/")
    if not api and getattr(request.match_info.handler, "while_enrolling", False):
        return None
    if not api and request.method in ("GET", "HEAD"):
        raise web.HTTPSeeOther(ENROL_PATH)
    detail = f"{request.method} {request.path}"[:200]
    await audit(request, AuditAction.TOTP_REQUIRED_REFUSED, signed_in(request).name, detail)
    if api:
        raise web.HTTPForbidden(
            text=json.dumps({"error": API_MESSAGE}), content_type="application/json"
        )
    message = _("Your account must use two-factor sign-in. Turn it on before doing anything else.")
    context = {"status": 403, "message": message, "enrol": True}
    return await render(request, "error.html", context, status=403)
