"""Console: a mailbox's relay targets, on its settings page (README: Relay copies and
robots). Adding or changing one asks for the mailbox passphrase (never kept, never
shown again, the field not autocompleted); removing one does not."""

from __future__ import annotations

from aiohttp import web

from storage import actions
from storage.errors import InvalidInput, NotFound, WrongPassphrase
from storage.relay import POLICIES, REQUIRED

from .. import session
from ..i18n import _, error_text
from ..render import form_text, redirect
from ..security import access
from ..views import perform, scoped_mailbox
from .mailbox_settings import settings_page_with

routes = web.RouteTableDef()


@routes.post("/mailboxes/{mailbox_id}/relays")
@access("domain-admin")
async def add_relay(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    address = form_text(form, "relay_address", 320)
    policy = form_text(form, "relay_policy", 40) or REQUIRED
    passphrase = form_text(form, "relay_passphrase", 200)
    values = {"relay_address": address, "relay_policy": policy}  # never the passphrase
    if policy not in POLICIES:
        errors = {"relay_policy": _("Choose required or best-effort.")}
        return await settings_page_with(request, mailbox, values, errors, 400)
    wanted = actions.AddRelayTarget(mailbox.id, address, passphrase, policy)
    try:
        done = await perform(request, actions.add_relay_target, wanted)
    except WrongPassphrase:
        errors = {"relay_passphrase": _("Wrong passphrase: no relay target was added or changed.")}
        return await settings_page_with(request, mailbox, values, errors, 400)
    except InvalidInput as exc:
        return await settings_page_with(
            request, mailbox, values, {"relay_address": error_text(exc)}, 400
        )
    if done.created:
        text = _("Mail of this mailbox is now relayed to %(address)s.")
    else:
        text = _("The relay policy of %(address)s was changed.")
    await session.flash(request, text % {"address": done.target.address})
    raise redirect(f"/mailboxes/{mailbox.id}/settings")


@routes.post("/mailboxes/{mailbox_id}/relays/remove")
@access("domain-admin")
async def remove_relay(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    address = form_text(form, "address", 320)
    wanted = actions.RemoveRelayTarget(mailbox.id, address)
    try:
        await perform(request, actions.remove_relay_target, wanted)
    except NotFound:
        raise web.HTTPNotFound() from None
    await session.flash(request, _("Relay target %(address)s removed.") % {"address": address})
    raise redirect(f"/mailboxes/{mailbox.id}/settings")
