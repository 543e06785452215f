"""The reply a robot sends (RFC 3834 §3): its own text, none of the original's content.

From: the address the mail was sent to; To: the envelope sender; Subject: the robot's;
Auto-Submitted: auto-replied; In-Reply-To and References from the original's
Message-ID and References; a fresh Message-ID and Date. Sent with the null envelope
sender (§3.3), so that nothing answers it in turn.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from email.policy import SMTP

from storage.robot_rules import Robot

_REFERENCES_KEPT = 10  # the original's newest references carried on


def build_reply(
    robot: Robot, from_address: str, to_address: str, fields: dict[str, list[str]], hostname: str
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = from_address
    message["To"] = to_address
    message["Subject"] = robot.subject  # one line: robot_rules refuses CR/LF
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=hostname or "localhost")
    message["Auto-Submitted"] = "auto-replied"
    original = _message_id(fields)
    if original:
        message["In-Reply-To"] = original
        references = [*_ids(" ".join(fields.get("references", [])))[-_REFERENCES_KEPT:]]
        if original not in references:
            references.append(original)
        message["References"] = " ".join(references)
    message.set_content(robot.text + "\n", charset="utf-8")
    return message.as_bytes()


def _message_id(fields: dict[str, list[str]]) -> str:
    found = _ids(" ".join(fields.get("message-id", [])[:1]))
    return found[0] if found else ""


def _ids(text: str) -> list[str]:
    """The <...> message ids in `text` (nothing else: no header content is copied)."""
    out = []
    for part in text.split("<")[1:]:
        inner, closed, _ = part.partition(">")
        if closed and inner and len(inner) <= 250 and not any(c in inner for c in " \t\r\n<>"):
            out.append(f"<{inner}>")
    return out
