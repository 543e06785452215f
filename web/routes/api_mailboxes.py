"""JSON API: creating, changing and deleting mailboxes; passphrase reset and change."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage import policy
from storage.errors import AlreadyExists, InvalidInput, NotFound, OutOfScope, WrongPassphrase
from storage.models import PROTOCOLS, STATUSES, Mailbox
from storage.policy import ResetDecision

from ..security import access
from ..state import ADMIN, state
from ..views import audit
from .api import V1, api_error, api_mailbox, json_body, mailbox_json

routes = web.RouteTableDef()
_UPDATABLE = ("name", "description", "status", "quota", "allowed_networks", "protocols")
_POLICY = ("passphrase_max_age_days", "reset_locked")


def _str_list(body: dict, key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise api_error(400, f"{key} must be a list of strings")
    return value


def _quota(body: dict) -> int:
    quota = body.get("quota", 0)
    if not isinstance(quota, int) or isinstance(quota, bool) or quota < 0:
        raise api_error(400, "quota must be a number of bytes (0 = unlimited)")
    return quota


@routes.post(V1 + "/mailboxes")
@access("domain-admin")
async def create_mailbox(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    domain = str(body.get("domain", ""))
    status = str(body.get("status", "active"))
    if status not in STATUSES:
        raise api_error(400, f"status must be one of {', '.join(STATUSES)}")
    try:
        mailbox, passphrase = await state(request).store.mailboxes.create(
            domain,
            name=str(body.get("name", ""))[:200],
            description=str(body.get("description", ""))[:2000],
            aliases=_str_list(body, "aliases"),
            quota=_quota(body),
            status=status,
            actor=request[ADMIN],
        )
    except OutOfScope as exc:
        raise api_error(403, str(exc)) from None
    except NotFound as exc:
        raise api_error(404, str(exc)) from None
    except (InvalidInput, AlreadyExists) as exc:
        raise api_error(400, str(exc)) from None
    await audit(request, "mailbox.create", mailbox.id, f"domain={mailbox.domain}")
    return web.json_response(
        mailbox_json(mailbox, _now(request), passphrase=passphrase), status=201
    )


def _changes(body: dict) -> dict[str, Any]:
    unknown = set(body) - set(_UPDATABLE) - set(_POLICY)
    if unknown:
        raise api_error(400, f"unknown fields: {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    for key in ("name", "description"):
        if key in body:
            changes[key] = str(body[key])[:2000]
    if "status" in body:
        if body["status"] not in STATUSES:
            raise api_error(400, f"status must be one of {', '.join(STATUSES)}")
        changes["status"] = body["status"]
    if "quota" in body:
        changes["quota"] = _quota(body)
    if "allowed_networks" in body:
        changes["allowed_networks"] = _str_list(body, "allowed_networks")
    if "protocols" in body:
        protocols = _str_list(body, "protocols")
        if any(p not in PROTOCOLS for p in protocols):
            raise api_error(400, f"protocols must be among {', '.join(PROTOCOLS)}")
        changes["protocols"] = protocols
    return changes


def _policy_changes(body: dict, mailbox: Mailbox) -> dict[str, Any]:
    """The settings keys a PATCH changes (storage/policy.py), validated."""
    changes: dict[str, Any] = {}
    if "passphrase_max_age_days" in body:
        try:
            days = policy.check_max_age_days(body["passphrase_max_age_days"])
        except InvalidInput as exc:
            raise api_error(400, str(exc)) from None
        if days != policy.max_age_days(mailbox):
            changes |= policy.max_age_update(days)
    if "reset_locked" in body:
        lock = body["reset_locked"]
        if not isinstance(lock, bool):
            raise api_error(400, "reset_locked must be true or false")
        if lock != policy.reset_locked(mailbox):
            changes |= policy.reset_lock_update(lock)
    return changes


async def _audit_policy(request: web.Request, mailbox: Mailbox, changes: dict) -> None:
    if policy.MAX_AGE_KEY in changes:
        days = changes[policy.MAX_AGE_KEY]
        await audit(request, policy.AUDIT_MAX_AGE, mailbox.id, f"days={days or 'none'}")
    if policy.RESET_LOCK_KEY in changes:
        lock = bool(changes[policy.RESET_LOCK_KEY])
        await audit(request, policy.reset_lock_audit(lock), mailbox.id)


@routes.patch(V1 + "/mailboxes/{mailbox_id}")
@access("domain-admin")
async def update_mailbox(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request, write=True)
    body = await json_body(request)
    changes = _changes(body)
    settings = _policy_changes(body, mailbox)
    if policy.RESET_LOCK_KEY in settings and not policy.may_change_reset_lock(
        request[ADMIN].role, mailbox, bool(settings[policy.RESET_LOCK_KEY])
    ):
        await audit(request, policy.AUDIT_LOCK_CLEAR_REFUSED, mailbox.id)
        raise api_error(403, "only a superadmin can clear the reset lock")
    try:
        updated = await state(request).store.mailboxes.update(
            mailbox.id, **changes, settings_update=settings or None
        )
    except InvalidInput as exc:
        raise api_error(400, str(exc)) from None
    if changes or not settings:
        detail = " ".join(f"{k}={v}" for k, v in changes.items() if k != "description")
        await audit(request, "mailbox.update", mailbox.id, detail[:500])
    await _audit_policy(request, mailbox, settings)
    return web.json_response(mailbox_json(updated, _now(request)))


@routes.delete(V1 + "/mailboxes/{mailbox_id}")
@access("domain-admin")
async def delete_mailbox(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request, write=True)
    if request.query.get("confirm") != mailbox.id:
        raise api_error(400, "pass ?confirm=<mailbox id> to delete it and all its messages")
    if not policy.is_deletable(mailbox):
        raise api_error(409, "only a mailbox on hold or disabled can be deleted")
    destroyed = await state(request).store.mailboxes.delete(mailbox.id, force=True)
    await audit(request, "mailbox.delete", mailbox.id, f"messages={destroyed}")
    return web.json_response({"id": mailbox.id, "messages_destroyed": destroyed})


@routes.post(V1 + "/mailboxes/{mailbox_id}/aliases")
@access("domain-admin")
async def add_alias(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request, write=True)
    address = str((await json_body(request)).get("address", ""))
    try:
        updated = await state(request).store.mailboxes.add_alias(
            mailbox.id, address, actor=request[ADMIN]
        )
    except OutOfScope as exc:
        raise api_error(403, str(exc)) from None
    except InvalidInput as exc:
        raise api_error(400, str(exc)) from None
    except AlreadyExists as exc:
        raise api_error(409, str(exc)) from None
    await audit(request, "mailbox.alias-add", mailbox.id, address[:320])
    return web.json_response(mailbox_json(updated, _now(request)), status=201)


@routes.delete(V1 + "/mailboxes/{mailbox_id}/aliases/{address}")
@access("domain-admin")
async def remove_alias(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request, write=True)
    address = request.match_info["address"]
    try:
        updated = await state(request).store.mailboxes.remove_alias(mailbox.id, address)
    except (NotFound, InvalidInput):
        raise api_error(404, "no such alias") from None
    await audit(request, "mailbox.alias-remove", mailbox.id, address[:320])
    return web.json_response(mailbox_json(updated, _now(request)))


@routes.post(V1 + "/mailboxes/{mailbox_id}/reset-passphrase")
@access("domain-admin")
async def reset_passphrase(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request, write=True)
    await _check_reset_allowed(request, mailbox)
    st = state(request)
    becoming_sealed = mailbox.messages - await st.store.keys.sealed_message_count(mailbox.id)
    passphrase = await st.store.keys.reset_passphrase(mailbox.id)
    await audit(request, "mailbox.passphrase-reset", mailbox.id, f"sealed={becoming_sealed}")
    sealed = await st.store.keys.sealed_message_count(mailbox.id)
    return web.json_response(
        {"id": mailbox.id, "passphrase": passphrase, "sealed_messages": sealed}
    )


async def _check_reset_allowed(request: web.Request, mailbox: Mailbox) -> None:
    """Refuse a reset the "no reset" lock forbids; the body may be {"confirm": "<id>"}."""
    confirm = None
    if request.can_read_body:
        confirm = (await json_body(request)).get("confirm")
        if confirm is not None and not isinstance(confirm, str):
            raise api_error(400, "confirm must be the mailbox id, as a string")
    decision = policy.reset_decision(mailbox, request[ADMIN].role, confirm)
    if decision is ResetDecision.ALLOWED:
        return
    await audit(request, policy.AUDIT_RESET_REFUSED, mailbox.id, decision.value)
    if decision is ResetDecision.LOCKED:
        raise api_error(
            403, "passphrase resets of this mailbox are locked: only a superadmin can reset it"
        )
    raise api_error(
        400,
        'passphrase resets of this mailbox are locked: send {"confirm": "<mailbox id>"}'
        " to reset it anyway",
    )


def _now(request: web.Request) -> float:
    return state(request).options.clock()


@routes.post(V1 + "/mailboxes/{mailbox_id}/change-passphrase")
@access("domain-admin")
async def change_passphrase(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request, write=True)
    current = str((await json_body(request)).get("current", ""))[:200]
    try:
        passphrase = await state(request).store.keys.change_passphrase(mailbox.id, current)
    except WrongPassphrase:
        await audit(request, "mailbox.passphrase-change-failed", mailbox.id)
        raise api_error(400, "wrong passphrase") from None
    await audit(request, "mailbox.passphrase-change", mailbox.id)
    return web.json_response({"id": mailbox.id, "passphrase": passphrase})
