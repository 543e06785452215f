"""The mailbox list's URL state: filters, sort and page, read from and written to the
query string, so that every view of the list can be bookmarked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from storage.listing import MAX_SEARCH, SORTS, MailboxQuery
from storage.models import STATUSES

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_SIZE = 50
# Sort names older console URLs used, still accepted in bookmarks.
SORT_ALIASES = {"size": "bytes", "received": "received_24h"}


@dataclass(frozen=True)
class ListView:
    """The console list's state, exactly what its URL says."""

    domain: str | None = None
    search: str = ""
    status: str | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1
    size: int = DEFAULT_SIZE

    def query(self) -> MailboxQuery:
        offset = (self.page - 1) * self.size
        return MailboxQuery(
            status=self.status,
            search=self.search,
            sort=self.sort,
            descending=self.descending,
            limit=self.size,
            offset=offset,
        )

    def url(self, **changes: object) -> str:
        """This view's URL with `changes` (e.g. page=2); defaults are left out."""
        view = replace(self, **changes)  # type: ignore[arg-type]
        params = {
            "domain": view.domain or "",
            "q": view.search,
            "status": view.status or "",
            "sort": "" if view.sort == "name" else view.sort,
            "dir": "desc" if view.descending else "",
            "size": "" if view.size == DEFAULT_SIZE else str(view.size),
            "page": "" if view.page == 1 else str(view.page),
        }
        kept = urlencode({k: v for k, v in params.items() if v})
        return "/mailboxes" + (f"?{kept}" if kept else "")

    def query_string(self) -> str:
        """The URL's query string: the bulk form sends it back to say which view, and so
        which filter, it came from (web/routes/mailboxes_bulk.py)."""
        return self.url().partition("?")[2]

    def sort_url(self, key: str) -> str:
        """Sorting by `key` (again: the other direction) keeps the filters, from page 1."""
        flip = key == self.sort and not self.descending
        return self.url(sort=key, descending=flip, page=1)


def _number(text: str | None, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default


def read_view(query: Mapping[str, str]) -> ListView:
    """The view a console URL asks for. Lenient, as a bookmark may be old or edited: an
    unknown sort, status, size or page falls back to the default."""
    sort = query.get("sort", "name")
    sort = SORT_ALIASES.get(sort, sort)
    status = query.get("status") or None
    size = _number(query.get("size"), DEFAULT_SIZE)
    return ListView(
        domain=query.get("domain") or None,
        search=query.get("q", "").strip()[:MAX_SEARCH],
        status=status if status in STATUSES else None,
        sort=sort if sort in SORTS else "name",
        descending=query.get("dir") == "desc",
        page=max(1, _number(query.get("page"), 1)),
        size=size if size in PAGE_SIZES else DEFAULT_SIZE,
    )
