"""Your settings: language, own password, sessions, API tokens (TOTP is in totp.py)."""

from __future__ import annotations

from aiohttp import web

from storage import actions, policy
from storage.actions import AuditAction
from storage.errors import InvalidInput, NotFound, WrongPassword

from .. import session
from ..i18n import LANGUAGES, _, set_language
from ..render import form_text, redirect, render
from ..security import access
from ..state import ADMIN, SESSION, SESSION_RAW, signed_in, state
from ..views import audit, perform

routes = web.RouteTableDef()


async def settings_page(
    request: web.Request, errors: dict | None = None, status: int = 200
) -> web.Response:
    st = state(request)
    admin = signed_in(request)
    current = request[SESSION].id if request.get(SESSION) else ""
    context = {
        "nav": "settings",
        "errors": errors or {},
        "sessions": await st.store.sessions.list(admin.name),
        "current_session": current,
        "tokens": await st.store.tokens.list(admin.name),
    }
    return await render(request, "settings.html", context, status=status)


async def show_once(
    request: web.Request, kind: str, secret: str = "", codes: list | None = None, name: str = ""
) -> web.Response:
    """A password, token or recovery codes, shown once (Cache-Control: no-store)."""
    context = {
        "nav": "settings",
        "kind": kind,
        "secret": secret,
        "codes": codes or [],
        "name": name,
    }
    return await render(request, "secret_once.html", context)


@routes.get("/settings")
@access("viewer")
async def settings(request: web.Request) -> web.StreamResponse:
    return await settings_page(request)


@routes.post("/settings/language")
@access("self")
async def language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    lang = form_text(form, "language", 8)
    try:
        admin = await perform(
            request, actions.set_language, actions.SetLanguage(lang, tuple(LANGUAGES))
        )
    except InvalidInput:
        return await settings_page(request, {"language": _("Choose a language.")}, 400)
    request[ADMIN] = admin
    set_language(lang)
    await session.flash(request, _("Language changed."))
    response = redirect("/settings")
    session.remember_language(request, response, lang)
    raise response


@routes.post("/settings/password")
@access("self")
async def change_password(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    current = str(form.get("current_password", ""))
    new = str(form.get("new_password", ""))
    if new != str(form.get("confirm_password", "")):
        return await settings_page(
            request, {"confirm_password": _("The two new passwords differ.")}, 400
        )
    try:
        await _set_password(request, current, new)
    except WrongPassword:
        errors = {"current_password": _("That is not your current password.")}
        if not policy.password_length_ok(new):  # both at once (the action stops at the first)
            errors["new_password"] = _("Use at least 12 characters.")
        return await settings_page(request, errors, 400)
    except InvalidInput:
        return await settings_page(request, {"new_password": _("Use at least 12 characters.")}, 400)
    await session.flash(request, _("Password changed. Your other sessions were signed out."))
    raise redirect("/settings")


@routes.post("/settings/password/generate")
@access("self")
async def generate_password(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    current = str(form.get("current_password_generate", ""))
    try:
        password = await _set_password(request, current, None)
    except WrongPassword:
        errors = {"current_password_generate": _("That is not your current password.")}
        return await settings_page(request, errors, 400)
    return await show_once(request, "password", password)


async def _set_password(request: web.Request, current: str, new: str | None) -> str:
    wanted = actions.ChangeOwnPassword(current, new, keep_session=request.get(SESSION_RAW))
    return (await perform(request, actions.change_own_password, wanted)).password


@routes.post("/settings/signout-everywhere")
@access("self")
async def signout_everywhere(request: web.Request) -> web.StreamResponse:
    name = signed_in(request).name
    ended = await state(request).store.sessions.delete_for_admin(name)
    await audit(request, AuditAction.ADMIN_SIGNOUT_EVERYWHERE, name, f"sessions={ended}")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(state(request).cookie_name, path="/")
    raise response


@routes.post("/settings/tokens")
@access("self")
async def create_token(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = form_text(form, "token_name", 64)
    try:
        created = await perform(request, actions.create_token, actions.CreateToken(name))
    except InvalidInput:
        return await settings_page(request, {"token_name": _("Give the token a name.")}, 400)
    return await show_once(request, "token", created.secret, name=created.token.name)


@routes.post("/settings/tokens/{token_id}/revoke")
@access("self")
async def revoke_token(request: web.Request) -> web.StreamResponse:
    token_id = request.match_info["token_id"]
    try:
        wanted = actions.RevokeToken(token_id, signed_in(request).name)
        await perform(request, actions.revoke_token, wanted)
    except NotFound:
        raise web.HTTPNotFound() from None
    await session.flash(request, _("Token revoked."))
    raise redirect("/settings")
