"""Bulk mailbox acts, the rules every face shares: what a selection is, how a bulk
deletion is confirmed, and the columns of the CSV export.

A selection names mailboxes by id, or is every mailbox matching a filter (domain,
status, search: the list's own filters). A filter is resolved in the store, under the
actor's domain scope, never from a page the client sent back (storage/actions/bulk.py).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .csv_safe import neutralise_row
from .errors import InvalidInput
from .ids import random_base32
from .listing import MAX_IDS, MAX_SEARCH, MailboxListRow
from .models import STATUSES
from .timefmt import iso_utc

FILTER_KEYS = ("domain", "status", "q")
CSV_COLUMNS = (
    "id",
    "name",
    "domain",
    "addresses",
    "status",
    "messages",
    "bytes",
    "quota",
    "last_retrieval",
    "received_24h",
)


@dataclass(frozen=True)
class Filter:
    """The list's filters: every mailbox matching them (None / "" match any)."""

    domain: str | None = None
    status: str | None = None
    search: str = ""


@dataclass(frozen=True)
class Selection:
    """Mailboxes by id, or every mailbox matching `filter`: exactly one of the two."""

    ids: tuple[str, ...] | None = None
    filter: Filter | None = None

    def checked(self) -> Selection:
        if (self.ids is None) == (self.filter is None):
            raise InvalidInput("choose mailboxes by id, or every mailbox matching a filter")
        if self.ids is not None:
            ids = tuple(dict.fromkeys(i.strip().lower() for i in self.ids if i.strip()))
            if not ids:
                raise InvalidInput("no mailbox is selected")
            if len(ids) > MAX_IDS:
                raise InvalidInput("at most {most} mailbox ids at a time", most=MAX_IDS)
            return Selection(ids=ids)
        assert self.filter is not None
        return Selection(filter=_checked_filter(self.filter))


def _checked_filter(wanted: Filter) -> Filter:
    if wanted.status is not None and wanted.status not in STATUSES:
        raise InvalidInput("status must be one of {choices}", choices=", ".join(STATUSES))
    if len(wanted.search) > MAX_SEARCH:
        raise InvalidInput("the search is longer than {most} characters", most=MAX_SEARCH)
    domain = (wanted.domain or "").strip().lower() or None
    return Filter(domain, wanted.status or None, wanted.search.strip())


def filter_from(values: Mapping[str, object]) -> Filter:
    """A filter from {"domain", "status", "q"} (the API's body, the CLI's --filter);
    InvalidInput for an unknown key or a value that is neither text nor null."""
    unknown = sorted(set(values) - set(FILTER_KEYS))
    if unknown:
        raise InvalidInput(
            "unknown filter {key}: use {choices}", key=unknown[0], choices=", ".join(FILTER_KEYS)
        )
    given = {k: v for k, v in values.items() if v is not None}  # null: any, as if absent
    if not all(isinstance(v, str) for v in given.values()):
        raise InvalidInput("filter values must be text")
    text = {k: str(v) for k, v in given.items()}
    return _checked_filter(
        Filter(text.get("domain") or None, text.get("status") or None, text.get("q", ""))
    )


def new_reference() -> str:
    """The reference one bulk act's audit entries share."""
    return "bulk-" + random_base32(12).lower()


# --- the typed confirmation of a bulk deletion -------------------------------------
def confirmation_text(count: int) -> str:
    """What the admin types to delete `count` mailboxes: the number itself, so that a
    selection that grew or shrank since it was shown is not deleted by an old answer."""
    return str(count)


def confirmed(typed: str | None, count: int) -> bool:
    answer = (typed or "").strip().encode()
    return hmac.compare_digest(answer, confirmation_text(count).encode())


# --- the CSV export ----------------------------------------------------------------
def csv_cells(row: MailboxListRow) -> list[str]:
    """One mailbox's CSV row, safe to open in a spreadsheet (storage/csv_safe.py)."""
    m = row.mailbox
    cells = [
        m.id,
        m.name,
        m.domain,
        " ".join(m.addresses),
        m.status,
        str(m.messages),
        str(m.bytes),
        str(m.quota),
        iso_utc(m.last_login) or "",
        str(row.received_24h),
    ]
    return neutralise_row(cells)


def csv_lines(rows: Iterable[MailboxListRow]) -> list[list[str]]:
    return [csv_cells(r) for r in rows]
