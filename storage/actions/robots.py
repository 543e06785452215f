"""Robot actions: set (create or replace) and clear a mailbox's auto-reply robot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..robot_rules import INTERVAL_DEFAULT, Robot, check_robot
from ..timefmt import iso_utc
from .audit import AuditAction
from .base import API, CLI, CONSOLE, Actor, action, record, scoped_mailbox


@dataclass(frozen=True)
class SetRobot:
    ref: str  # the mailbox
    subject: str
    text: str
    starts: float | None = None
    ends: float | None = None
    copy_to: str = ""
    interval_days: object = INTERVAL_DEFAULT  # checked: a whole number of days


@dataclass(frozen=True)
class ClearRobot:
    ref: str


@action(CONSOLE, API, CLI)
def set_robot(store: Any, actor: Actor, request: SetRobot) -> Robot:
    """Checked by robot_rules.check_robot (InvalidInput names the problem). The audit
    entry names the window, interval and copy address, never the texts."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    settings = check_robot(
        request.subject,
        request.text,
        request.starts,
        request.ends,
        request.copy_to,
        request.interval_days,
    )
    detail = " ".join(
        [
            f"from={iso_utc(settings.starts) or '-'}",
            f"until={iso_utc(settings.ends) or '-'}",
            f"interval={settings.interval_days}d",
            f"copy-to={settings.copy_to or '-'}",
        ]
    )
    with store.atomic():
        robot: Robot = store.robots.set(mailbox.id, settings)
        record(store, actor, AuditAction.ROBOT_SET, mailbox.id, detail)
    return robot


@action(CONSOLE, API, CLI)
def clear_robot(store: Any, actor: Actor, request: ClearRobot) -> bool:
    """False (and no entry) when the mailbox had no robot."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    with store.atomic():
        removed: bool = store.robots.clear(mailbox.id)
        if removed:
            record(store, actor, AuditAction.ROBOT_CLEAR, mailbox.id)
    return removed
