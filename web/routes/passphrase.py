"""Mailbox passphrase: change (current known), reset (new epoch), recover (old found).

Passphrases typed here go to the store and nowhere else: never into a log, the audit
log, a URL, the session, or back into a form.
"""

from __future__ import annotations

from aiohttp import web

from storage import policy
from storage.errors import WrongPassphrase
from storage.models import Mailbox
from storage.policy import ResetDecision

from .. import session
from ..i18n import _, ngettext
from ..render import form_text, redirect, render
from ..security import access
from ..state import ADMIN, state
from ..views import audit, scoped_mailbox
from .mailboxes import UNCONFIRMED, show_passphrase

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


async def _mark_unconfirmed(request: web.Request, mailbox: Mailbox) -> None:
    await state(request).store.mailboxes.update(mailbox.id, settings_update={UNCONFIRMED: True})


@routes.post("/mailboxes/{mailbox_id}/passphrase/change")
@access("domain-admin")
async def change(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    await _already_done(request, form)
    current = str(form.get("current", ""))[:_MAX]
    try:
        new = await state(request).store.keys.change_passphrase(mailbox.id, current)
    except WrongPassphrase:
        await audit(request, "mailbox.passphrase-change-failed", mailbox.id)
        errors = {"current": _("That is not the current passphrase of this mailbox.")}
        return await _page(request, mailbox, errors, 400)
    await _mark_unconfirmed(request, mailbox)
    await audit(request, "mailbox.passphrase-change", mailbox.id)
    await session.mark_once(request, form_text(form, "once", 64), f"/mailboxes/{mailbox.id}")
    return await show_passphrase(request, mailbox, new, "changed")


@routes.post("/mailboxes/{mailbox_id}/passphrase/reset")
@access("domain-admin")
async def reset(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    await _already_done(request, form)
    refusal = await _reset_refusal(request, mailbox, form_text(form, "confirm", 100))
    if refusal is not None:
        return refusal
    if form.get("understood") != "yes":
        errors = {"understood": _("Tick the box to confirm that you understand.")}
        return await _page(request, mailbox, errors, 400)
    st = state(request)
    becoming_sealed = mailbox.messages - await st.store.keys.sealed_message_count(mailbox.id)
    new = await st.store.keys.reset_passphrase(mailbox.id)
    await _mark_unconfirmed(request, mailbox)
    await audit(request, "mailbox.passphrase-reset", mailbox.id, f"sealed={becoming_sealed}")
    await session.mark_once(request, form_text(form, "once", 64), f"/mailboxes/{mailbox.id}")
    return await show_passphrase(request, mailbox, new, "reset")


async def _reset_refusal(
    request: web.Request, mailbox: Mailbox, confirm: str
) -> web.Response | None:
    """The page refusing a reset the "no reset" lock forbids, or None to go on."""
    decision = policy.reset_decision(mailbox, request[ADMIN].role, confirm)
    if decision is ResetDecision.ALLOWED:
        return None
    await audit(request, policy.AUDIT_RESET_REFUSED, mailbox.id, decision.value)
    if decision is ResetDecision.LOCKED:
        errors = {
            "reset": _(
                "Passphrase resets of this mailbox are locked: only a superadmin can reset it."
            )
        }
        return await _page(request, mailbox, errors, 403)
    message = _("Resets of this mailbox are locked. Type its id, %(id)s, to confirm.") % {
        "id": mailbox.id
    }
    return await _page(request, mailbox, {"confirm": message}, 400)


@routes.post("/mailboxes/{mailbox_id}/passphrase/recover")
@access("domain-admin")
async def recover(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    old = str(form.get("old", ""))[:_MAX]
    current = str(form.get("current_for_recover", ""))[:_MAX]
    st = state(request)
    before = await st.store.keys.sealed_message_count(mailbox.id)
    try:
        epochs = await st.store.keys.recover(mailbox.id, old, current)
    except WrongPassphrase:
        await audit(request, "mailbox.passphrase-recover-failed", mailbox.id)
        errors = {
            "old": _(
                "Either this passphrase opens no older key epoch of this mailbox,"
                " or the current passphrase below is wrong."
            ),
        }
        return await _page(request, mailbox, errors, 400)
    readable = before - await st.store.keys.sealed_message_count(mailbox.id)
    await audit(request, "mailbox.passphrase-recover", mailbox.id, f"epochs={epochs}")
    text = ngettext(
        "Recovered: %(n)d message is readable again with the current passphrase.",
        "Recovered: %(n)d messages are readable again with the current passphrase.",
        readable,
    ) % {"n": readable}
    await session.flash(request, text)
    raise redirect(f"/mailboxes/{mailbox.id}")
