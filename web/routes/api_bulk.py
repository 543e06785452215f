"""JSON API: bulk acts on mailboxes (storage/actions/bulk.py) and the CSV export.

Each body selects mailboxes with "ids" (a list of mailbox ids) or "filter" ({"domain",
"status", "q"}: every mailbox matching, resolved by the store within the token's
admin's domains), never both.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage import actions
from storage.bulk import Selection, confirmed, filter_from
from storage.errors import InvalidInput
from storage.models import Mailbox

from ..csv_export import stream_csv
from ..security import access
from ..state import state
from .api import V1, api_act, api_error, json_body

routes = web.RouteTableDef()


def selection_of(body: dict[str, Any]) -> Selection:
    if ("ids" in body) == ("filter" in body):
        raise api_error(400, 'give "ids" (a list of mailbox ids) or "filter" (an object), one')
    if "ids" in body:
        ids = body["ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise api_error(400, "ids must be a list of mailbox ids")
        return Selection(ids=tuple(ids))
    chosen = body["filter"]
    if not isinstance(chosen, dict):
        raise api_error(400, 'filter must be an object: {"domain", "status", "q"}')
    try:
        return Selection(filter=filter_from(chosen))
    except InvalidInput as exc:
        raise api_error(400, str(exc)) from None


def _brief(mailboxes: list[Mailbox]) -> list[dict[str, str]]:
    return [{"id": m.id, "name": m.name, "status": m.status} for m in mailboxes]


@routes.post(V1 + "/mailboxes/bulk/status")
@access("domain-admin")
async def bulk_status(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    status = body.get("status")
    if not isinstance(status, str):
        raise api_error(400, "status must be a string")
    wanted = actions.BulkStatus(selection_of(body), status, state(request).options.clock())
    done = await api_act(request, actions.bulk_status, wanted)
    return web.json_response(
        {
            "reference": done.reference,
            "status": status,
            "changed": [m.id for m in done.changed],
            "unchanged": [m.id for m in done.unchanged],
        }
    )


@routes.post(V1 + "/mailboxes/bulk/delete")
@access("domain-admin")
async def bulk_delete(request: web.Request) -> web.StreamResponse:
    """Without the right "confirm" (the number of deletable mailboxes), 400 with what
    would be deleted and what kept: nothing is deleted."""
    body = await json_body(request)
    confirm = body.get("confirm")
    if confirm is not None and not isinstance(confirm, str | int):
        raise api_error(400, "confirm must be the number of mailboxes to delete")
    selection = selection_of(body)
    typed = None if confirm is None else str(confirm)
    plan = await api_act(request, actions.plan_bulk_delete, selection)
    if plan.deletable and not confirmed(typed, len(plan.deletable)):
        answer = {
            "error": f"to delete {len(plan.deletable)} mailboxes and their messages, send"
            f' "confirm": "{plan.confirmation}"; nothing was deleted',
            "confirm": plan.confirmation,
            "deletable": _brief(plan.deletable),
            "kept": _brief(plan.kept),
        }
        return web.json_response(answer, status=400)
    # The action checks the count again: a selection that changed meanwhile is refused.
    done = await api_act(request, actions.bulk_delete, actions.BulkDelete(selection, typed))
    return web.json_response(
        {
            "reference": done.reference,
            "deleted": [m.id for m in done.deleted],
            "kept": _brief(done.kept),
            "messages_destroyed": done.messages_destroyed,
        }
    )


@routes.post(V1 + "/mailboxes/export")
@access("domain-admin")
async def export_csv(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    wanted = actions.ExportMailboxes(selection_of(body), state(request).options.clock())
    exported = await api_act(request, actions.export_mailboxes, wanted)
    return await stream_csv(request, exported.rows)
