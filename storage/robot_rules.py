"""Mail robots (auto-replies): what a robot is, and the rules its settings obey, kept
once here for the console, the API and the CLI (web cannot import gateway).

A robot belongs to one mailbox: a subject and a text, an optional date window
(`starts`, `ends`, Unix times; None is open), an optional address that receives a copy
of each reply, and the interval (days) within which one sender is answered once. Robot
texts are admin data: the subject is one line (CR, LF and other control characters are
refused, so nobody can add a header through it), both are bounded in length, and the
console escapes them. The replies themselves, and RFC 3834, are gateway/robots/.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput
from .timefmt import iso_utc

SUBJECT_MAX = 200  # characters
TEXT_MAX = 10_000  # characters
INTERVAL_DEFAULT = 7  # days
INTERVAL_MAX = 365
DAY = 86400.0


@dataclass(frozen=True)
class RobotSettings:
    """A robot's settings, checked (check_robot)."""

    subject: str
    text: str
    starts: float | None = None
    ends: float | None = None
    copy_to: str = ""
    interval_days: int = INTERVAL_DEFAULT


@dataclass(frozen=True)
class Robot(RobotSettings):
    mailbox_id: str = ""
    updated: float = 0.0

    def active(self, now: float) -> bool:
        """Inside its date window (an open end never closes)."""
        if self.starts is not None and now < self.starts:
            return False
        return self.ends is None or now < self.ends

    def document(self, now: float) -> dict[str, Any]:
        """The keys the API and `--json` show."""
        return {
            "mailbox": self.mailbox_id,
            "subject": self.subject,
            "text": self.text,
            "from": iso_utc(self.starts),
            "until": iso_utc(self.ends),
            "copy_to": self.copy_to or None,
            "interval_days": self.interval_days,
            "active": self.active(now),
            "updated": iso_utc(self.updated),
        }


def check_robot(
    subject: str,
    text: str,
    starts: float | None = None,
    ends: float | None = None,
    copy_to: str = "",
    interval_days: object = INTERVAL_DEFAULT,
) -> RobotSettings:
    """The settings, normalized (text with LF line ends, copy address lowercased);
    InvalidInput with a sentence an admin understands otherwise."""
    subject = subject.strip()
    if not subject:
        raise InvalidInput("the robot needs a subject")
    if "\r" in subject or "\n" in subject:
        raise InvalidInput("the robot subject must be one line: CR and LF are not allowed")
    if any(unicodedata.category(c) == "Cc" for c in subject):
        raise InvalidInput("the robot subject must not contain control characters")
    if len(subject) > SUBJECT_MAX:
        raise InvalidInput("the robot subject is longer than {n} characters", n=SUBJECT_MAX)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text.strip():
        raise InvalidInput("the robot needs a text")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise InvalidInput("the robot text must not contain control characters")
    if len(text) > TEXT_MAX:
        raise InvalidInput("the robot text is longer than {n} characters", n=TEXT_MAX)
    if starts is not None and ends is not None and ends <= starts:
        raise InvalidInput("the robot's end must come after its start")
    if isinstance(interval_days, bool) or not isinstance(interval_days, int):
        raise InvalidInput("the reply interval must be a whole number of days")
    if not 1 <= interval_days <= INTERVAL_MAX:
        raise InvalidInput("the reply interval must be 1 to {n} days", n=INTERVAL_MAX)
    from .sqlite.addresses import normalize_address  # here: storage.sqlite imports this module

    copy = normalize_address(copy_to) if copy_to.strip() else ""
    return RobotSettings(subject, text, starts, ends, copy, interval_days)


def parse_day(text: str, *, end: bool = False) -> float | None:
    """ "2026-12-24" (a whole UTC day: its start, or with `end` the start of the next
    day) or an ISO 8601 time with a zone ("2026-12-24T08:00:00Z"); "" is None."""
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            when = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)
            return (when + datetime.timedelta(days=1 if end else 0)).timestamp()
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "{text!r} is not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM:SSZ)", text=text
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput("{text!r}: give the time zone, e.g. a trailing Z for UTC", text=text)
    return parsed.timestamp()
