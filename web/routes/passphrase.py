"""Mailbox passphrase: change (current known), reset (new epoch), recover (old found).

Passphrases typed here go to the store and nowhere else: never into a log, the audit
log, a URL, the session, or back into a form.
"""

from __future__ import annotations

from aiohttp import web

from storage import actions, policy
from storage.errors import ConfirmationNeeded, Forbidden, WrongPassphrase
from storage.models import Mailbox

from .. import session
from ..i18n import _, ngettext
from ..render import form_text, redirect, render
from ..security import access
from ..state import state
from ..views import perform, scoped_mailbox
from .mailboxes import show_passphrase

routes = web.RouteTableDef()
_MAX = 200


async def _page(
    request: web.Request, mailbox: Mailbox, errors: dict | None = None, status: int = 200
) -> web.Response:
    sealed = await state(request).store.keys.sealed_message_count(mailbox.id)
    context = {
        "nav": "mailboxes",
        "mailbox": mailbox,
        "errors": errors or {},
        "sealed": sealed,
        "becoming_sealed": mailbox.messages - sealed,
        "once": session.new_once(),
        "reset_locked": policy.reset_locked(mailbox),
    }
    return await render(request, "passphrase.html", context, status=status)


@routes.get("/mailboxes/{mailbox_id}/passphrase")
@access("domain-admin")
async def passphrase_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, await scoped_mailbox(request, write=True))


async def _already_done(request: web.Request, form: object) -> None:
    done = session.once_used(request, form_text(form, "once", 64))
    if done:
        await session.flash(
            request, _("This form was already sent. A passphrase is shown only once."), "warn"
        )
        raise redirect(done)


@routes.post("/mailboxes/{mailbox_id}/passphrase/change")
@access("domain-admin")
async def change(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request)
    form = await request.post()
    await _already_done(request, form)
    current = str(form.get("current", ""))[:_MAX]
    wanted = actions.ChangePassphrase(mailbox.id, current, await_acknowledgement=True)
    try:
        changed = await perform(request, actions.change_passphrase, wanted)
    except WrongPassphrase:
        errors = {"current": _("That is not the current passphrase of this mailbox.")}
        return await _page(request, mailbox, errors, 400)
    await session.mark_once(request, form_text(form, "once", 64), f"/mailboxes/{mailbox.id}")
    return await show_passphrase(request, mailbox, changed.passphrase, "changed")


@routes.post("/mailboxes/{mailbox_id}/passphrase/reset")
@access("domain-admin")
async def reset(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request)
    form = await request.post()
    await _already_done(request, form)
    if form.get("understood") != "yes":
        errors = {"understood": _("Tick the box to confirm that you understand.")}
        return await _page(request, mailbox, errors, 400)
    confirm = form_text(form, "confirm", 100)
    wanted = actions.ResetPassphrase(mailbox.id, confirm, await_acknowledgement=True)
    try:
        reset_done = await perform(request, actions.reset_passphrase, wanted, keep=(Forbidden,))
    except Forbidden:
        errors = {
            "reset": _(
                "Passphrase resets of this mailbox are locked: only a superadmin can reset it."
            )
        }
        return await _page(request, mailbox, errors, 403)
    except ConfirmationNeeded:
        message = _("Resets of this mailbox are locked. Type its id, %(id)s, to confirm.") % {
            "id": mailbox.id
        }
        return await _page(request, mailbox, {"confirm": message}, 400)
    await session.mark_once(request, form_text(form, "once", 64), f"/mailboxes/{mailbox.id}")
    return await show_passphrase(request, mailbox, reset_done.passphrase, "reset")


@routes.post("/mailboxes/{mailbox_id}/passphrase/recover")
@access("domain-admin")
async def recover(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request)
    form = await request.post()
    old = str(form.get("old", ""))[:_MAX]
    current = str(form.get("current_for_recover", ""))[:_MAX]
    wanted = actions.RecoverPassphrase(mailbox.id, old, current)
    try:
        recovered = await perform(request, actions.recover_passphrase, wanted)
    except WrongPassphrase:
        errors = {
            "old": _(
                "Either this passphrase opens no older key epoch of this mailbox,"
                " or the current passphrase below is wrong."
            ),
        }
        return await _page(request, mailbox, errors, 400)
    readable = recovered.readable
    text = ngettext(
        "Recovered: %(n)d message is readable again with the current passphrase.",
        "Recovered: %(n)d messages are readable again with the current passphrase.",
        readable,
    ) % {"n": readable}
    await session.flash(request, text)
    raise redirect(f"/mailboxes/{mailbox.id}")
