"""Mailbox settings, aliases, and deletion (hold/disabled only, confirmed by name).
Relay targets are on the same page; their routes are in mailbox_relays.py."""

from __future__ import annotations

from aiohttp import web

from storage import actions, policy
from storage.errors import AlreadyExists, InvalidInput, NotDeletable, NotFound, OutOfScope
from storage.models import PROTOCOLS, STATUSES, Mailbox
from storage.relay import BEST_EFFORT, MAX_TARGETS, REQUIRED

from .. import session
from ..forms import FieldError, parse_networks, parse_size, size_input
from ..i18n import _, error_text, ngettext
from ..labels import max_age_names
from ..render import form_lines, form_text, redirect, render
from ..security import access
from ..state import signed_in, state
from ..views import actor, perform, scoped_mailbox

routes = web.RouteTableDef()


def _values(mailbox: Mailbox) -> dict:
    return {
        "name": mailbox.name,
        "description": mailbox.description,
        "quota": size_input(mailbox.quota),
        "status": mailbox.status,
        "networks": "\n".join(mailbox.allowed_networks),
        "protocols": list(mailbox.protocols),
    }


async def _page(
    request: web.Request,
    mailbox: Mailbox,
    values: dict,
    errors: dict | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "nav": "mailboxes",
        "mailbox": mailbox,
        "values": values,
        "errors": errors or {},
        "statuses": STATUSES,
        "protocols": PROTOCOLS,
        "max_age_options": list(max_age_names().items()),
        "max_age": values.get("max_age") or policy.max_age_choice(policy.max_age_days(mailbox)),
        "reset_locked": policy.reset_locked(mailbox),
        "may_clear_lock": policy.may_change_reset_lock(signed_in(request).role, mailbox, False),
        "relays": await state(request).store.relays.list(mailbox.id),
        "relay_policies": [(REQUIRED, _("required")), (BEST_EFFORT, _("best-effort"))],
        "relay_limit": MAX_TARGETS,
    }
    return await render(request, "mailbox_settings.html", context, status=status)


async def settings_page_with(
    request: web.Request, mailbox: Mailbox, values: dict, errors: dict, status: int
) -> web.Response:
    """The settings page with `values` typed into its forms and their errors."""
    return await _page(request, mailbox, _values(mailbox) | values, errors, status)


@routes.get("/mailboxes/{mailbox_id}/settings")
@access("domain-admin")
async def settings_page(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    return await _page(request, mailbox, _values(mailbox))


@routes.post("/mailboxes/{mailbox_id}/settings")
@access("domain-admin")
async def save_settings(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    name, description = form_text(form, "name", 200), form_text(form, "description", 2000)
    quota_text, status = form_text(form, "quota", 40) or "0", form_text(form, "status", 20)
    protocols = [p for p in form.getall("protocols", []) if p in PROTOCOLS]
    values = {
        "name": name,
        "description": description,
        "quota": quota_text,
        "status": status,
        "networks": "\n".join(form_lines(form, "networks")),
        "protocols": protocols,
    }
    errors: dict[str, str] = {}
    quota, networks = 0, []
    try:
        quota = parse_size(quota_text)
    except FieldError as exc:
        errors["quota"] = str(exc)
    try:
        networks = parse_networks(form_lines(form, "networks"))
    except FieldError as exc:
        errors["networks"] = str(exc)
    if status not in STATUSES:
        errors["status"] = _("Choose one of the statuses.")
    if errors:
        return await _page(request, mailbox, values, errors, 400)
    wanted = actions.UpdateMailbox(
        mailbox.id,
        name=name,
        description=description,
        status=status,
        quota=quota,
        allowed_networks=tuple(networks),
        protocols=tuple(protocols),
    )
    try:
        await perform(request, actions.update_mailbox, wanted)
    except InvalidInput as exc:
        return await _page(request, mailbox, values, {"status": error_text(exc)}, 400)
    await session.flash(request, _("Settings saved."))
    raise redirect(f"/mailboxes/{mailbox.id}")


@routes.post("/mailboxes/{mailbox_id}/aliases")
@access("domain-admin")
async def add_alias(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    address = form_text(form, "address", 320)
    wanted = actions.AliasChange(mailbox.id, address)
    try:
        await state(request).store.act(actions.add_alias, actor(request), wanted)
    except (InvalidInput, AlreadyExists, OutOfScope) as exc:
        values = _values(mailbox) | {"address": address}
        status = 403 if isinstance(exc, OutOfScope) else 400
        return await _page(request, mailbox, values, {"address": error_text(exc)}, status)
    await session.flash(request, _("Alias added."))
    raise redirect(f"/mailboxes/{mailbox.id}/settings")


@routes.post("/mailboxes/{mailbox_id}/aliases/remove")
@access("domain-admin")
async def remove_alias(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    address = form_text(form, "address", 320)
    try:
        await perform(request, actions.remove_alias, actions.AliasChange(mailbox.id, address))
    except (NotFound, InvalidInput):
        raise web.HTTPNotFound() from None
    await session.flash(request, _("Alias %(address)s removed.") % {"address": address})
    raise redirect(f"/mailboxes/{mailbox.id}/settings")


async def _delete_page(
    request: web.Request,
    mailbox: Mailbox,
    errors: dict | None = None,
    status: int = 200,
    hand_over_to: str = "",
) -> web.Response:
    context = {
        "nav": "mailboxes",
        "mailbox": mailbox,
        "deletable": policy.is_deletable(mailbox),
        "errors": errors or {},
        "successors": await _successors(request, mailbox),
        "hand_over_to": hand_over_to,
    }
    return await render(request, "mailbox_delete.html", context, status=status)


async def _successors(request: web.Request, mailbox: Mailbox) -> list[tuple[str, str]]:
    """(value, label) of the mailboxes that may take over its addresses: the others of
    its domain (the action checks again); the first choice hands over nothing."""
    others = await state(request).store.mailboxes.list(mailbox.domain)
    choices = [(m.id, f"{m.name} ({m.id})") for m in others if m.id != mailbox.id]
    if not choices:
        return []
    return [("", _("nobody: mail to them is rejected as unknown")), *choices]


@routes.get("/mailboxes/{mailbox_id}/delete")
@access("domain-admin")
async def delete_page(request: web.Request) -> web.StreamResponse:
    return await _delete_page(request, await scoped_mailbox(request, write=True))


@routes.post("/mailboxes/{mailbox_id}/delete")
@access("domain-admin")
async def delete_mailbox(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request)
    form = await request.post()
    typed = form_text(form, "confirm", 300)
    hand_over_to = form_text(form, "hand_over_to", 320)
    if typed not in (mailbox.name.strip(), mailbox.id):
        if not policy.is_deletable(mailbox):  # which refusal to show first; the action decides
            return await _delete_page(request, mailbox, status=409)
        message = _("Type the mailbox name exactly as shown to confirm.")
        return await _delete_page(request, mailbox, {"confirm": message}, 400, hand_over_to)
    wanted = actions.DeleteMailbox(mailbox.id, destroy_messages=True, hand_over_to=hand_over_to)
    try:
        deleted = await perform(request, actions.delete_mailbox, wanted)
    except NotDeletable:
        return await _delete_page(request, mailbox, status=409)
    except (InvalidInput, NotFound) as exc:  # the hand-over (another domain's is a 403)
        errors = {"hand_over_to": error_text(exc)}
        return await _delete_page(request, mailbox, errors, 400, hand_over_to)
    destroyed = deleted.messages_destroyed
    text = ngettext(
        "Mailbox %(name)s deleted with %(n)d message.",
        "Mailbox %(name)s deleted with %(n)d messages.",
        destroyed,
    ) % {"name": mailbox.name, "n": destroyed}
    await session.flash(request, text)
    if deleted.handed_over_to is not None:
        raise redirect(f"/mailboxes/{deleted.handed_over_to.id}")
    raise redirect(f"/mailboxes?domain={mailbox.domain}")
