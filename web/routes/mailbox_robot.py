"""A mailbox's auto-reply robot in the console: its own page, set and clear.

The texts are admin data: Jinja escapes them on every page, and storage/robot_rules.py
bounds them and refuses CR/LF in the subject (the form shows that error)."""

from __future__ import annotations

from aiohttp import web

from storage import actions
from storage.errors import InvalidInput
from storage.models import Mailbox
from storage.robot_rules import (
    INTERVAL_DEFAULT,
    INTERVAL_MAX,
    SUBJECT_MAX,
    TEXT_MAX,
    Robot,
    parse_day,
)
from storage.timefmt import iso_utc

from .. import session
from ..i18n import _, error_text
from ..render import redirect, render
from ..security import access
from ..state import state
from ..views import perform, scoped_mailbox

routes = web.RouteTableDef()


def _values(robot: Robot | None) -> dict[str, str]:
    if robot is None:
        return {"subject": "", "text": "", "from": "", "until": "", "copy_to": "",
                "interval_days": str(INTERVAL_DEFAULT)}  # fmt: skip
    until = robot.ends - 86400 if robot.ends is not None else None  # the last day shown
    return {
        "subject": robot.subject,
        "text": robot.text,
        "from": (iso_utc(robot.starts) or "")[:10],
        "until": (iso_utc(until) or "")[:10],
        "copy_to": robot.copy_to,
        "interval_days": str(robot.interval_days),
    }


async def _page(
    request: web.Request, mailbox: Mailbox, values: dict, errors: dict | None = None,
    status: int = 200,
) -> web.Response:  # fmt: skip
    robot = await state(request).store.robots.get(mailbox.id)
    context = {
        "nav": "mailboxes",
        "mailbox": mailbox,
        "robot": robot,
        "active": robot is not None and robot.active(state(request).options.clock()),
        "values": values,
        "errors": errors or {},
        "limits": {"subject": SUBJECT_MAX, "text": TEXT_MAX, "interval": INTERVAL_MAX},
    }
    return await render(request, "mailbox_robot.html", context, status=status)


@routes.get("/mailboxes/{mailbox_id}/robot")
@access("domain-admin")
async def robot_page(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    robot = await state(request).store.robots.get(mailbox.id)
    return await _page(request, mailbox, _values(robot))


def _raw(form, name: str, limit: int) -> str:
    value = form.get(name, "")
    return value[: limit + 1] if isinstance(value, str) else ""


@routes.post("/mailboxes/{mailbox_id}/robot")
@access("domain-admin")
async def save_robot(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    values = {
        "subject": _raw(form, "subject", SUBJECT_MAX),
        "text": _raw(form, "text", TEXT_MAX),
        "from": _raw(form, "from", 40).strip(),
        "until": _raw(form, "until", 40).strip(),
        "copy_to": _raw(form, "copy_to", 320).strip(),
        "interval_days": _raw(form, "interval_days", 10).strip(),
    }
    try:
        starts = parse_day(values["from"])
        ends = parse_day(values["until"], end=True)
    except InvalidInput as exc:
        return await _page(request, mailbox, values, {"from": error_text(exc)}, 400)
    if not values["interval_days"].isdigit():
        errors = {"interval_days": _("Give the interval as a whole number of days.")}
        return await _page(request, mailbox, values, errors, 400)
    wanted = actions.SetRobot(
        mailbox.id, values["subject"], values["text"], starts, ends, values["copy_to"],
        int(values["interval_days"]),
    )  # fmt: skip
    try:
        await perform(request, actions.set_robot, wanted)
    except InvalidInput as exc:
        return await _page(request, mailbox, values, {"subject": error_text(exc)}, 400)
    await session.flash(request, _("Robot saved."))
    raise redirect(f"/mailboxes/{mailbox.id}/robot")


@routes.post("/mailboxes/{mailbox_id}/robot/clear")
@access("domain-admin")
async def clear_robot(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    await perform(request, actions.clear_robot, actions.ClearRobot(mailbox.id))
    await session.flash(request, _("Robot removed."))
    raise redirect(f"/mailboxes/{mailbox.id}")
