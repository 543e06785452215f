"""Which mail a robot must never answer (RFC 3834 §2, and journal reports).

Looked at: the envelope sender (MAIL FROM) and the top-level header section of the
message as received (journal.HeaderSniffer keeps at most 256 KiB of it). A reason is
a short label value for the metric `robot_replies_total{result="suppressed"}`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from email.parser import BytesHeaderParser
from email.policy import compat32

NULL_SENDER = "null_sender"
JOURNAL_REPORT = "journal_report"
AUTO_SUBMITTED = "auto_submitted"
LIST_MAIL = "list"
BULK = "precedence"
SUPPRESSED_BY_SENDER = "auto_response_suppress"
OWN_ADDRESS = "own_address"
SYSTEM_SENDER = "system_sender"
BAD_SENDER = "bad_sender"

_JOURNAL_HEADERS = ("x-ms-journal-report", "x-ms-exchange-organization-journal-report")
_BULK_PRECEDENCE = {"bulk", "list", "junk"}
_SYSTEM_LOCAL = {"mailer-daemon", "postmaster", "listserv", "majordomo"}
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_LOCAL_FORBIDDEN = set(' "(),:;<>@[\\]\t\r\n')


def parse_header(header: bytes) -> dict[str, list[str]]:
    """Lower-cased field name → values (unfolded), of a CRLF header section."""
    message = BytesHeaderParser(policy=compat32).parsebytes(header)
    fields: dict[str, list[str]] = {}
    for name, value in message.items():
        text = value if isinstance(value, str) else str(value)
        fields.setdefault(name.strip().lower(), []).append(" ".join(text.split()))
    return fields


def suppression(
    sender: str, fields: dict[str, list[str]], own_domains: Collection[str]
) -> str | None:
    """Why this message must not be answered, or None when a reply is allowed."""
    if not sender.strip() or sender.strip() == "<>":
        return NULL_SENDER
    if any(name in fields for name in _JOURNAL_HEADERS) or any(
        v.lower() == "exjournalreport" for v in fields.get("content-identifier", [])
    ):
        return JOURNAL_REPORT
    if any(v.split(";")[0].strip().lower() != "no" for v in fields.get("auto-submitted", [])):
        return AUTO_SUBMITTED
    if any(name.startswith("list-") for name in fields):
        return LIST_MAIL
    if any(v.strip().lower() in _BULK_PRECEDENCE for v in fields.get("precedence", [])):
        return BULK
    suppress = ",".join(fields.get("x-auto-response-suppress", [])).lower()
    if any(word.strip() in ("all", "oof", "autoreply") for word in suppress.split(",")):
        return SUPPRESSED_BY_SENDER
    return _sender_reason(sender.strip().strip("<>"), own_domains)


def _sender_reason(sender: str, own_domains: Collection[str]) -> str | None:
    local, at, domain = sender.rpartition("@")
    if not at or not _plain_local(local) or not _DOMAIN.fullmatch(domain):
        return BAD_SENDER  # nothing a plain reply could be addressed to
    if domain.lower().rstrip(".") in own_domains:
        return OWN_ADDRESS
    local = local.lower()
    if local in _SYSTEM_LOCAL or local.startswith("owner-") or local.endswith("-request"):
        return SYSTEM_SENDER
    return None


def _plain_local(local: str) -> bool:
    """An unquoted ASCII local part (a reply to an SMTPUTF8 address is not attempted)."""
    return (
        0 < len(local) <= 64
        and local.isascii()
        and local.isprintable()
        and not any(c in _LOCAL_FORBIDDEN for c in local)
    )
