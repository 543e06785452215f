"""Admins (superadmin only): create, role and domains, disable, reset password or TOTP."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiMapping

from storage import actions
from storage.actions import AuditAction
from storage.errors import AlreadyExists, InvalidInput, NotFound
from storage.models import ROLES, Admin

from .. import session
from ..i18n import _, error_text
from ..render import form_text as text
from ..render import redirect, render
from ..security import access
from ..state import SESSION_RAW, signed_in, state
from ..views import audit, perform
from .settings import show_once

routes = web.RouteTableDef()


async def _get(request: web.Request) -> Admin:
    try:
        return await state(request).store.admins.get(request.match_info["name"])
    except NotFound:
        raise web.HTTPNotFound() from None


async def _list_page(
    request: web.Request, values: dict | None = None, errors: dict | None = None, status: int = 200
) -> web.Response:
    st = state(request)
    context = {
        "nav": "admins",
        "admins": await st.store.admins.list(),
        "domains": await st.store.domains.list(),
        "roles": ROLES,
        "values": values or {"role": "domain-admin", "domains": []},
        "errors": errors or {},
    }
    return await render(request, "admins.html", context, status=status)


@routes.get("/admins")
@access("superadmin")
async def admins(request: web.Request) -> web.StreamResponse:
    return await _list_page(request)


def _chosen_domains(form: MultiMapping[object], known: set[str]) -> list[str]:
    return [d for d in form.getall("domains", []) if isinstance(d, str) and d in known]


@routes.post("/admins")
@access("superadmin")
async def create_admin(request: web.Request) -> web.StreamResponse:
    st = state(request)
    form = await request.post()
    known = {d.name for d in await st.store.domains.list()}
    name, role = text(form, "name", 64), text(form, "role", 20)
    domains = _chosen_domains(form, known)
    values = {"name": name, "role": role, "domains": domains}
    if role not in ROLES:
        return await _list_page(request, values, {"role": _("Choose a role.")}, 400)
    wanted = actions.CreateAdmin(name, role, tuple(domains))
    try:
        created = await perform(request, actions.create_admin, wanted)
    except InvalidInput as exc:
        if not domains and role == "domain-admin":
            return await _list_page(request, values, {"role": error_text(exc)}, 400)
        message = _("Use 1–64 letters, digits, dots, dashes, underscores or @.")
        return await _list_page(request, values, {"name": message}, 400)
    except AlreadyExists:
        return await _list_page(request, values, {"name": _("This name is taken.")}, 409)
    return await show_once(request, "admin-password", created.password, name=created.admin.name)


async def _edit_page(
    request: web.Request, target: Admin, errors: dict | None = None, status: int = 200
) -> web.Response:
    st = state(request)
    context = {
        "nav": "admins",
        "target": target,
        "domains": await st.store.domains.list(),
        "roles": ROLES,
        "tokens": await st.store.tokens.list(target.name),
        "sessions": await st.store.sessions.list(target.name),
        "errors": errors or {},
    }
    return await render(request, "admin_edit.html", context, status=status)


@routes.get("/admins/{name}")
@access("superadmin")
async def edit_admin_page(request: web.Request) -> web.StreamResponse:
    return await _edit_page(request, await _get(request))


@routes.post("/admins/{name}")
@access("superadmin")
async def update_admin(request: web.Request) -> web.StreamResponse:
    st = state(request)
    target = await _get(request)
    form = await request.post()
    role = text(form, "role", 20)
    disabled = form.get("disabled") == "yes"
    if role not in ROLES:
        return await _edit_page(request, target, {"role": _("Choose a role.")}, 400)
    known = {d.name for d in await st.store.domains.list()}
    domains = tuple(_chosen_domains(form, known))
    try:
        await perform(
            request, actions.update_admin, actions.UpdateAdmin(target.name, role, domains, disabled)
        )
    except InvalidInput:  # demoting or disabling oneself
        message = _("You cannot demote or disable yourself. Ask another superadmin.")
        return await _edit_page(request, target, {"role": message}, 400)
    await session.flash(request, _("Admin %(name)s saved.") % {"name": target.name})
    raise redirect(f"/admins/{target.name}")


@routes.post("/admins/{name}/reset-totp")
@access("superadmin")
async def reset_totp(request: web.Request) -> web.StreamResponse:
    target = await _get(request)
    await perform(request, actions.reset_totp, actions.AdminName(target.name))
    await session.flash(
        request, _("Two-factor sign-in of %(name)s is off.") % {"name": target.name}
    )
    raise redirect(f"/admins/{target.name}")


@routes.post("/admins/{name}/reset-password")
@access("superadmin")
async def reset_password(request: web.Request) -> web.StreamResponse:
    target = await _get(request)
    wanted = actions.ResetAdminPassword(target.name, keep_session=request.get(SESSION_RAW))
    reset_done = await perform(request, actions.reset_admin_password, wanted)
    return await show_once(request, "admin-password", reset_done.password, name=target.name)


@routes.post("/admins/{name}/signout")
@access("superadmin")
async def sign_out_admin(request: web.Request) -> web.StreamResponse:
    st = state(request)
    target = await _get(request)
    keep = request.get(SESSION_RAW) if target.name == signed_in(request).name else None
    ended = await st.store.sessions.delete_for_admin(target.name, keep_raw=keep)
    await audit(request, AuditAction.ADMIN_SIGNOUT, target.name, f"sessions={ended}")
    await session.flash(request, _("Sessions of %(name)s ended.") % {"name": target.name})
    raise redirect(f"/admins/{target.name}")


@routes.post("/admins/{name}/tokens/{token_id}/revoke")
@access("superadmin")
async def revoke_token(request: web.Request) -> web.StreamResponse:
    target = await _get(request)
    token_id = request.match_info["token_id"]
    try:
        await perform(request, actions.revoke_token, actions.RevokeToken(token_id, target.name))
    except NotFound:
        raise web.HTTPNotFound() from None
    await session.flash(request, _("Token revoked."))
    raise redirect(f"/admins/{target.name}")
