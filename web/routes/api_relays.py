"""JSON API: a mailbox's relay targets (README: Relay copies and robots).

Adding or changing a target needs the mailbox passphrase in the body, proved by the
action with an unlock; a wrong one is 400 and changes nothing. Removing needs admin
rights only.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage import actions
from storage.models import RelayTarget
from storage.relay import REQUIRED
from storage.timefmt import iso_utc

from ..security import access
from ..state import state
from .api import V1, api_act, api_error, api_mailbox, json_body

routes = web.RouteTableDef()
_FIELDS = {"address", "policy", "passphrase"}


def target_json(target: RelayTarget) -> dict[str, Any]:
    return {
        "address": target.address,
        "policy": target.policy,
        "created_by": target.created_by,
        "created": iso_utc(target.created),
    }


def _string(body: dict, key: str, default: str = "") -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise api_error(400, f"{key} must be a string")
    return value


@routes.get(V1 + "/mailboxes/{mailbox_id}/relays")
@access("viewer")
async def list_relays(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    targets = await state(request).store.relays.list(mailbox.id)
    return web.json_response({"id": mailbox.id, "targets": [target_json(t) for t in targets]})


@routes.post(V1 + "/mailboxes/{mailbox_id}/relays")
@access("domain-admin")
async def add_relay(request: web.Request) -> web.StreamResponse:
    """{"address": ..., "policy": "required" | "best-effort", "passphrase": ...}"""
    mailbox = await api_mailbox(request)
    body = await json_body(request)
    unknown = set(body) - _FIELDS
    if unknown:
        raise api_error(400, f"unknown fields: {', '.join(sorted(unknown))}")
    wanted = actions.AddRelayTarget(
        mailbox.id,
        _string(body, "address")[:320],
        _string(body, "passphrase")[:200],
        _string(body, "policy", REQUIRED)[:40],
    )
    done = await api_act(request, actions.add_relay_target, wanted)
    document = {"id": mailbox.id, **target_json(done.target), "created_new": done.created}
    return web.json_response(document, status=201 if done.created else 200)


@routes.delete(V1 + "/mailboxes/{mailbox_id}/relays/{address}")
@access("domain-admin")
async def remove_relay(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    wanted = actions.RemoveRelayTarget(mailbox.id, request.match_info["address"])
    done = await api_act(request, actions.remove_relay_target, wanted)
    return web.json_response({"id": mailbox.id, "removed": done.target.address})
