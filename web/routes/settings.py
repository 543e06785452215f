"""Your settings: language, own password, sessions, API tokens (TOTP is in totp.py)."""

from __future__ import annotations

from aiohttp import web

from storage.errors import InvalidInput, NotFound

from .. import session
from ..i18n import LANGUAGES, _, set_language
from ..render import form_text, redirect, render
from ..security import access
from ..state import ADMIN, SESSION, SESSION_RAW, state
from ..views import audit

routes = web.RouteTableDef()
MIN_PASSWORD = 12
MAX_PASSWORD = 256


async def settings_page(
    request: web.Request, errors: dict | None = None, status: int = 200
) -> web.Response:
    st = state(request)
    admin = request[ADMIN]
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
    if lang not in LANGUAGES:
        return await settings_page(request, {"language": _("Choose a language.")}, 400)
    admin = await state(request).store.admins.update(request[ADMIN].name, language=lang)
    request[ADMIN] = admin
    set_language(lang)
    await session.flash(request, _("Language changed."))
    response = redirect("/settings")
    session.remember_language(request, response, lang)
    raise response


async def _password_ok(request: web.Request, password: str) -> bool:
    admin = request[ADMIN]
    return await state(request).store.admins.verify_password(admin.name, password) is not None


@routes.post("/settings/password")
@access("self")
async def change_password(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    current = str(form.get("current_password", ""))[:MAX_PASSWORD]
    new = str(form.get("new_password", ""))
    confirm = str(form.get("confirm_password", ""))
    errors: dict[str, str] = {}
    if not await _password_ok(request, current):
        errors["current_password"] = _("That is not your current password.")
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        errors["new_password"] = _("Use at least 12 characters.")
    elif new != confirm:
        errors["confirm_password"] = _("The two new passwords differ.")
    if errors:
        return await settings_page(request, errors, 400)
    await _set_password(request, new)
    await session.flash(request, _("Password changed. Your other sessions were signed out."))
    raise redirect("/settings")


@routes.post("/settings/password/generate")
@access("self")
async def generate_password(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    current = str(form.get("current_password_generate", ""))[:MAX_PASSWORD]
    if not await _password_ok(request, current):
        errors = {"current_password_generate": _("That is not your current password.")}
        return await settings_page(request, errors, 400)
    password = await _set_password(request, None)
    return await show_once(request, "password", password)


async def _set_password(request: web.Request, password: str | None) -> str:
    st = state(request)
    name = request[ADMIN].name
    password = await st.store.admins.set_password(name, password)
    await st.store.sessions.delete_for_admin(name, keep_raw=request.get(SESSION_RAW))
    await audit(request, "admin.password-change", name)
    return password


@routes.post("/settings/signout-everywhere")
@access("self")
async def signout_everywhere(request: web.Request) -> web.StreamResponse:
    name = request[ADMIN].name
    ended = await state(request).store.sessions.delete_for_admin(name)
    await audit(request, "admin.signout-everywhere", name, f"sessions={ended}")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(state(request).cookie_name, path="/")
    raise response


@routes.post("/settings/tokens")
@access("self")
async def create_token(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = form_text(form, "token_name", 64)
    try:
        token, raw = await state(request).store.tokens.create(request[ADMIN].name, name)
    except InvalidInput:
        return await settings_page(request, {"token_name": _("Give the token a name.")}, 400)
    await audit(request, "admin.token-create", token.id, token.name)
    return await show_once(request, "token", raw, name=token.name)


@routes.post("/settings/tokens/{token_id}/revoke")
@access("self")
async def revoke_token(request: web.Request) -> web.StreamResponse:
    token_id = request.match_info["token_id"]
    try:
        await state(request).store.tokens.revoke(token_id, admin=request[ADMIN].name)
    except NotFound:
        raise web.HTTPNotFound() from None
    await audit(request, "admin.token-revoke", token_id)
    await session.flash(request, _("Token revoked."))
    raise redirect("/settings")
