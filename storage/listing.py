"""The mailbox list at scale: the page query, its records, and the opaque cursor.

Shared by every face (console, API, CLI) and every store implementation, so the rules
(sort keys, page-size bounds, what a cursor holds) live once, here.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field

from .errors import InvalidInput
from .models import STATUSES, Mailbox

DAY = 86400.0
SORTS = ("name", "domain", "status", "messages", "bytes", "last_login", "received_24h", "created")
MAX_LIMIT = 500
MAX_SEARCH = 200
MAX_IDS = 10_000  # mailbox ids one query (a bulk selection) may name
CursorKey = tuple[str | int | float, ...]


@dataclass(frozen=True)
class MailboxQuery:
    """One page of the mailbox list.

    `domains`: the domains to cover (the admin's visible ones), None for every domain;
    an empty tuple covers nothing. `ids`: only these mailboxes (a bulk selection), None
    for any. `search` matches id, name, description and any
    address (case-insensitive for ASCII). Page either by `cursor` (from the previous
    page's next_cursor, stable under inserts) or by `offset`, not both. `now` is the
    time "received in the last 24 hours" counts back from (default: the clock).
    """

    domains: tuple[str, ...] | None = None
    status: str | None = None
    search: str = ""
    sort: str = "name"
    descending: bool = False
    limit: int = 50
    cursor: str | None = None
    offset: int = 0
    now: float | None = None
    ids: tuple[str, ...] | None = None

    def checked(self) -> MailboxQuery:
        """The query with bad values refused (InvalidInput), the search trimmed."""
        if self.sort not in SORTS:
            raise InvalidInput("sort must be one of {choices}", choices=", ".join(SORTS))
        if self.status is not None and self.status not in STATUSES:
            raise InvalidInput("status must be one of {choices}", choices=", ".join(STATUSES))
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput("limit must be between 1 and {most}", most=MAX_LIMIT)
        if self.offset < 0:
            raise InvalidInput("offset must be 0 or more")
        if self.cursor is not None and self.offset:
            raise InvalidInput("give a cursor or an offset, not both")
        if len(self.search) > MAX_SEARCH:
            raise InvalidInput("the search is longer than {most} characters", most=MAX_SEARCH)
        if self.ids is not None and len(self.ids) > MAX_IDS:
            raise InvalidInput("at most {most} mailbox ids at a time", most=MAX_IDS)
        domains = None if self.domains is None else tuple(d.lower() for d in self.domains)
        ids = None if self.ids is None else tuple(dict.fromkeys(i.lower() for i in self.ids))
        return MailboxQuery(
            domains,
            self.status,
            self.search.strip(),
            self.sort,
            self.descending,
            self.limit,
            self.cursor,
            self.offset,
            time.time() if self.now is None else self.now,
            ids,
        )

    @property
    def since(self) -> float:
        return (time.time() if self.now is None else self.now) - DAY


@dataclass(frozen=True)
class MailboxListRow:
    """A mailbox as the list shows it, with what the list counts besides its own row."""

    mailbox: Mailbox
    received_24h: int
    sealed: int


@dataclass(frozen=True)
class MailboxPage:
    rows: list[MailboxListRow]
    total: int  # rows matching the filters, on every page
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True)
class DomainOverview:
    name: str
    mailboxes: int
    by_status: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    bytes: int = 0
    last_login: float | None = None  # the newest retrieval of any of its mailboxes
    received_24h: int = 0


def encode_cursor(sort: str, descending: bool, key: CursorKey) -> str:
    """An opaque token: where the next page starts (the last row's sort key and id)."""
    raw = json.dumps([sort, descending, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, descending: bool, width: int) -> CursorKey:
    """The key a cursor holds; InvalidInput for a malformed one, or one made for another
    sort order (a cursor is only valid with the sort it came with)."""
    bad = InvalidInput("the cursor is not valid (it belongs to another query or is damaged)")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise bad from None
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[2], list)):
        raise bad
    cursor_sort, cursor_descending, key = value
    if cursor_sort != sort or cursor_descending is not descending or len(key) != width:
        raise bad
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in key):
        raise bad
    return tuple(key)
