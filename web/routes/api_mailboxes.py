"""JSON API: creating, changing and deleting mailboxes; passphrase reset and change.

Each route parses its JSON, calls one action (storage/actions) and renders the result.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage import actions
from storage.errors import ConfirmationNeeded, Forbidden

from ..security import access
from ..state import state
from .api import V1, api_act, api_error, api_mailbox, json_body, mailbox_json

routes = web.RouteTableDef()
_UPDATABLE = ("name", "description", "status", "quota", "allowed_networks", "protocols")
_POLICY = ("passphrase_max_age_days", "reset_locked")
_LOCKED = {  # the API's own words for the "no reset" lock's refusals
    ConfirmationNeeded: 'passphrase resets of this mailbox are locked: send {"confirm":'
    ' "<mailbox id>"} to reset it anyway',
    Forbidden: "passphrase resets of this mailbox are locked: only a superadmin can reset it",
}


def _str_list(body: dict, key: str) -> tuple[str, ...]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise api_error(400, f"{key} must be a list of strings")
    return tuple(value)


def _quota(body: dict) -> int:
    quota = body.get("quota", 0)
    if not isinstance(quota, int) or isinstance(quota, bool) or quota < 0:
        raise api_error(400, "quota must be a number of bytes (0 = unlimited)")
    return quota


def _text(body: dict, key: str, limit: int) -> str:
    value = body[key]
    if not isinstance(value, str):
        raise api_error(400, f"{key} must be a string")
    return value[:limit]


@routes.post(V1 + "/mailboxes")
@access("domain-admin")
async def create_mailbox(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    wanted = actions.CreateMailbox(
        str(body.get("domain", "")),
        name=str(body.get("name", ""))[:200],
        description=str(body.get("description", ""))[:2000],
        aliases=_str_list(body, "aliases"),
        quota=_quota(body),
        status=str(body.get("status", "active")),
    )
    created = await api_act(request, actions.create_mailbox, wanted)
    document = mailbox_json(created.mailbox, _now(request), passphrase=created.passphrase)
    return web.json_response(document, status=201)


def _update(ref: str, body: dict) -> actions.UpdateMailbox:
    """The PATCH body as an update request; the action validates the values."""
    unknown = set(body) - set(_UPDATABLE) - set(_POLICY)
    if unknown:
        raise api_error(400, f"unknown fields: {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    for key in ("name", "description"):
        if key in body:
            changes[key] = str(body[key])[:2000]
    if "status" in body:
        changes["status"] = _text(body, "status", 40)
    if "quota" in body:
        changes["quota"] = _quota(body)
    for key in ("allowed_networks", "protocols"):
        if key in body:
            changes[key] = _str_list(body, key)
    if "passphrase_max_age_days" in body:
        changes["max_age_days"] = body["passphrase_max_age_days"]
    if "reset_locked" in body:
        if not isinstance(body["reset_locked"], bool):
            raise api_error(400, "reset_locked must be true or false")
        changes["reset_locked"] = body["reset_locked"]
    return actions.UpdateMailbox(ref, **changes)


@routes.patch(V1 + "/mailboxes/{mailbox_id}")
@access("domain-admin")
async def update_mailbox(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    wanted = _update(mailbox.id, await json_body(request))
    updated = await api_act(request, actions.update_mailbox, wanted)
    return web.json_response(mailbox_json(updated, _now(request)))


@routes.delete(V1 + "/mailboxes/{mailbox_id}")
@access("domain-admin")
async def delete_mailbox(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    if request.query.get("confirm") != mailbox.id:
        raise api_error(400, "pass ?confirm=<mailbox id> to delete it and all its messages")
    hand_over_to = request.query.get("hand_over_to", "")
    wanted = actions.DeleteMailbox(mailbox.id, destroy_messages=True, hand_over_to=hand_over_to)
    deleted = await api_act(request, actions.delete_mailbox, wanted)
    document: dict[str, Any] = {"id": mailbox.id, "messages_destroyed": deleted.messages_destroyed}
    if deleted.handed_over_to is not None:
        document["handed_over_to"] = deleted.handed_over_to.id
        document["handed_over"] = list(mailbox.addresses)
    return web.json_response(document)


@routes.post(V1 + "/mailboxes/{mailbox_id}/aliases")
@access("domain-admin")
async def add_alias(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    address = str((await json_body(request)).get("address", ""))
    added = await api_act(request, actions.add_alias, actions.AliasChange(mailbox.id, address))
    return web.json_response(mailbox_json(added.mailbox, _now(request)), status=201)


@routes.delete(V1 + "/mailboxes/{mailbox_id}/aliases/{address}")
@access("domain-admin")
async def remove_alias(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    wanted = actions.AliasChange(mailbox.id, request.match_info["address"])
    try:
        removed = await api_act(request, actions.remove_alias, wanted)
    except (web.HTTPNotFound, web.HTTPBadRequest):
        raise api_error(404, "no such alias") from None
    return web.json_response(mailbox_json(removed.mailbox, _now(request)))


@routes.post(V1 + "/mailboxes/{mailbox_id}/reset-passphrase")
@access("domain-admin")
async def reset_passphrase(request: web.Request) -> web.StreamResponse:
    """The "no reset" lock may need the body {"confirm": "<mailbox id>"}."""
    mailbox = await api_mailbox(request)
    confirm = None
    if request.can_read_body:
        confirm = (await json_body(request)).get("confirm")
        if confirm is not None and not isinstance(confirm, str):
            raise api_error(400, "confirm must be the mailbox id, as a string")
    wanted = actions.ResetPassphrase(mailbox.id, confirm)
    reset_done = await api_act(request, actions.reset_passphrase, wanted, say=_LOCKED)
    return web.json_response(
        {
            "id": mailbox.id,
            "passphrase": reset_done.passphrase,
            "sealed_messages": reset_done.sealed_messages,
        }
    )


def _now(request: web.Request) -> float:
    return state(request).options.clock()


@routes.post(V1 + "/mailboxes/{mailbox_id}/change-passphrase")
@access("domain-admin")
async def change_passphrase(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    current = str((await json_body(request)).get("current", ""))[:200]
    wanted = actions.ChangePassphrase(mailbox.id, current)
    changed = await api_act(request, actions.change_passphrase, wanted)
    return web.json_response({"id": mailbox.id, "passphrase": changed.passphrase})
