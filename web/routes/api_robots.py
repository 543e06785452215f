"""JSON API: a mailbox's auto-reply robot (GET, PUT to set or replace, DELETE)."""

from __future__ import annotations

from aiohttp import web

from storage import actions
from storage.errors import InvalidInput
from storage.robot_rules import INTERVAL_DEFAULT, SUBJECT_MAX, TEXT_MAX, parse_day

from ..security import access
from ..state import state
from .api import V1, api_act, api_error, api_mailbox, json_body

routes = web.RouteTableDef()
_FIELDS = {"subject", "text", "from", "until", "copy_to", "interval_days"}
ROBOT = V1 + "/mailboxes/{mailbox_id}/robot"


def _string(body: dict, key: str, limit: int) -> str:
    value = body.get(key) or ""
    if not isinstance(value, str):
        raise api_error(400, f"{key} must be a string")
    return value[: limit + 1]  # one over: the rule then reports the length


@routes.get(ROBOT)
@access("viewer")
async def show_robot(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    robot = await state(request).store.robots.get(mailbox.id)
    if robot is None:
        raise api_error(404, "this mailbox has no robot")
    return web.json_response(robot.document(state(request).options.clock()))


@routes.put(ROBOT)
@access("domain-admin")
async def set_robot(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    body = await json_body(request)
    unknown = set(body) - _FIELDS
    if unknown:
        raise api_error(400, f"unknown fields: {', '.join(sorted(unknown))}")
    try:
        starts = parse_day(_string(body, "from", 40))
        ends = parse_day(_string(body, "until", 40), end=True)
    except InvalidInput as exc:
        raise api_error(400, str(exc)) from None
    wanted = actions.SetRobot(
        mailbox.id,
        _string(body, "subject", SUBJECT_MAX),
        _string(body, "text", TEXT_MAX),
        starts,
        ends,
        _string(body, "copy_to", 320),
        body.get("interval_days", INTERVAL_DEFAULT),
    )
    robot = await api_act(request, actions.set_robot, wanted)
    return web.json_response(robot.document(state(request).options.clock()))


@routes.delete(ROBOT)
@access("domain-admin")
async def clear_robot(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    if not await api_act(request, actions.clear_robot, actions.ClearRobot(mailbox.id)):
        raise api_error(404, "this mailbox has no robot")
    return web.Response(status=204)
