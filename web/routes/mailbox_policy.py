"""A mailbox's passphrase policy: maximum age and the "no reset" lock (storage/policy.py)."""

from __future__ import annotations

from aiohttp import web

from storage import policy
from storage.errors import InvalidInput

from .. import session
from ..i18n import _
from ..render import form_text, redirect
from ..security import access
from ..state import ADMIN, state
from ..views import audit, scoped_mailbox
from .mailbox_settings import _page, _values

routes = web.RouteTableDef()


@routes.post("/mailboxes/{mailbox_id}/passphrase-policy")
@access("domain-admin")
async def save_max_age(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    choice = form_text(form, "max_age", 20)
    try:
        days = policy.parse_max_age(choice)
    except InvalidInput:
        errors = {"max_age": _("Choose one of the maximum ages.")}
        return await _page(request, mailbox, _values(mailbox) | {"max_age": choice}, errors, 400)
    if days != policy.max_age_days(mailbox):
        await state(request).store.mailboxes.update(
            mailbox.id, settings_update=policy.max_age_update(days)
        )
        await audit(request, policy.AUDIT_MAX_AGE, mailbox.id, f"days={days or 'none'}")
    await session.flash(request, _("Maximum passphrase age saved."))
    raise redirect(f"/mailboxes/{mailbox.id}/settings")


@routes.post("/mailboxes/{mailbox_id}/reset-lock")
@access("domain-admin")
async def save_reset_lock(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    wanted = form_text(form, "lock", 10)
    if wanted not in ("on", "off"):
        errors = {"lock": _("Choose whether passphrase resets are locked.")}
        return await _page(request, mailbox, _values(mailbox), errors, 400)
    lock = wanted == "on"
    if not policy.may_change_reset_lock(request[ADMIN].role, mailbox, lock):
        await audit(request, policy.AUDIT_LOCK_CLEAR_REFUSED, mailbox.id)
        errors = {"lock": _("Only a superadmin can clear the reset lock.")}
        return await _page(request, mailbox, _values(mailbox), errors, 403)
    if lock != policy.reset_locked(mailbox):
        await state(request).store.mailboxes.update(
            mailbox.id, settings_update=policy.reset_lock_update(lock)
        )
        await audit(request, policy.reset_lock_audit(lock), mailbox.id)
    text = _("Passphrase resets are locked.") if lock else _("The reset lock is cleared.")
    await session.flash(request, text)
    raise redirect(f"/mailboxes/{mailbox.id}/settings")
