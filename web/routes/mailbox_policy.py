"""A mailbox's passphrase policy: maximum age and the "no reset" lock (storage/policy.py)."""

from __future__ import annotations

from aiohttp import web

from storage import actions, policy
from storage.errors import Forbidden, InvalidInput

from .. import session
from ..i18n import _
from ..render import form_text, redirect
from ..security import access
from ..views import perform, scoped_mailbox
from .mailbox_settings import _page, _values

routes = web.RouteTableDef()


@routes.post("/mailboxes/{mailbox_id}/passphrase-policy")
@access("domain-admin")
async def save_max_age(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request)
    form = await request.post()
    choice = form_text(form, "max_age", 20)
    try:
        days = policy.parse_max_age(choice)
    except InvalidInput:
        errors = {"max_age": _("Choose one of the maximum ages.")}
        return await _page(request, mailbox, _values(mailbox) | {"max_age": choice}, errors, 400)
    wanted = actions.UpdateMailbox(mailbox.id, max_age_days=days)
    await perform(request, actions.update_mailbox, wanted)
    await session.flash(request, _("Maximum passphrase age saved."))
    raise redirect(f"/mailboxes/{mailbox.id}/settings")


@routes.post("/mailboxes/{mailbox_id}/reset-lock")
@access("domain-admin")
async def save_reset_lock(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request)
    form = await request.post()
    chosen = form_text(form, "lock", 10)
    if chosen not in ("on", "off"):
        errors = {"lock": _("Choose whether passphrase resets are locked.")}
        return await _page(request, mailbox, _values(mailbox), errors, 400)
    lock = chosen == "on"
    try:
        wanted = actions.UpdateMailbox(mailbox.id, reset_locked=lock)
        await perform(request, actions.update_mailbox, wanted, keep=(Forbidden,))
    except Forbidden:
        errors = {"lock": _("Only a superadmin can clear the reset lock.")}
        return await _page(request, mailbox, _values(mailbox), errors, 403)
    text = _("Passphrase resets are locked.") if lock else _("The reset lock is cleared.")
    await session.flash(request, text)
    raise redirect(f"/mailboxes/{mailbox.id}/settings")
