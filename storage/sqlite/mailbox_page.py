"""The mailbox list page and the per-domain overview, in a fixed number of statements.

A page is three statements whatever its size: the total, the page (keyset or offset,
with each row's received-in-24-h and sealed counts computed for that page's rows only),
and the page's addresses. The overview is two: the per-domain sums, the status counts.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..listing import (
    DomainOverview,
    MailboxListRow,
    MailboxPage,
    MailboxQuery,
    decode_cursor,
    encode_cursor,
)
from . import rows
from .database import Database

_RECEIVED = "(SELECT count(*) FROM messages g WHERE g.mailbox_id=m.id AND g.received>=:since)"
_SEALED = (
    "(SELECT count(*) FROM epochs e JOIN messages g ON g.mailbox_id=e.mailbox_id"
    " AND g.epoch=e.epoch WHERE e.mailbox_id=m.id AND e.state='sealed')"
)
# Each sort: the expressions it orders by, before the id that makes every key unique.
_SORT_KEYS: dict[str, tuple[str, ...]] = {
    "name": ("lower(m.name)",),
    "domain": ("m.domain", "lower(m.name)"),
    "status": ("m.status", "lower(m.name)"),
    "messages": ("m.message_count",),
    "bytes": ("m.stored_bytes",),
    "last_login": ("coalesce(m.last_login, 0.0)",),
    "received_24h": (_RECEIVED,),
    "created": ("m.created",),
}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(query: MailboxQuery, params: dict[str, Any]) -> str:
    """The WHERE clause of the query's domain scope, status and search."""
    clauses = ["1=1"]
    if query.domains is not None:
        names = []
        for n, domain in enumerate(query.domains):
            params[f"d{n}"] = domain
            names.append(f":d{n}")
        clauses.append(f"m.domain IN ({','.join(names)})")
    if query.ids is not None:  # one parameter each (at most MAX_IDS): portable SQL
        marks = []
        for n, mailbox_id in enumerate(query.ids):
            params[f"i{n}"] = mailbox_id
            marks.append(f":i{n}")
        clauses.append(f"m.id IN ({','.join(marks)})" if marks else "1=0")
    if query.status is not None:
        params["status"] = query.status
        clauses.append("m.status=:status")
    if query.search:
        params["like"] = _like(query.search.lower())
        clauses.append(
            "(lower(m.id) LIKE :like ESCAPE '\\' OR lower(m.name) LIKE :like ESCAPE '\\'"
            " OR lower(m.description) LIKE :like ESCAPE '\\' OR EXISTS (SELECT 1 FROM"
            " addresses a WHERE a.mailbox_id=m.id AND lower(a.address) LIKE :like ESCAPE '\\'))"
        )
    return " AND ".join(clauses)


def _page_sql(query: MailboxQuery, params: dict[str, Any]) -> str:
    keys = _SORT_KEYS[query.sort]
    columns = ", ".join(f"{expr} AS k{n}" for n, expr in enumerate(keys))
    names = [f"k{n}" for n in range(len(keys))] + ["id"]
    direction = " DESC" if query.descending else ""
    after = "1=1"
    if query.cursor is not None:
        key = decode_cursor(query.cursor, query.sort, query.descending, len(names))
        marks = []
        for n, value in enumerate(key):
            params[f"c{n}"] = value
            marks.append(f":c{n}")
        after = f"({', '.join(names)}) {'<' if query.descending else '>'} ({', '.join(marks)})"
    params["limit"] = query.limit + 1
    params["offset"] = query.offset
    order = ", ".join(f"p.{n}{direction}" for n in names)
    return (
        f"WITH p AS (SELECT * FROM (SELECT m.id AS id, {columns} FROM mailboxes m"  # noqa: S608
        f" WHERE {_filters(query, params)}) AS q WHERE {after}"
        f" ORDER BY {', '.join(n + direction for n in names)} LIMIT :limit OFFSET :offset)"
        f" SELECT m.*, p.*, {_RECEIVED} AS received_24h, {_SEALED} AS sealed"
        f" FROM p JOIN mailboxes m ON m.id=p.id ORDER BY {order}"
    )


def _addresses(conn: sqlite3.Connection, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        marks = ",".join("?" * len(ids))
        cur = conn.execute(
            f"SELECT mailbox_id, address FROM addresses WHERE mailbox_id IN ({marks})"  # noqa: S608
            " ORDER BY mailbox_id, is_primary DESC, address",
            ids,
        )
        for mailbox_id, address in cur:
            found[mailbox_id].append(address)
    return found


def mailbox_page(db: Database, wanted: MailboxQuery) -> MailboxPage:
    query = wanted.checked()
    if query.domains == () or query.ids == ():
        return MailboxPage([], 0, None)
    conn = db.conn()
    count_params: dict[str, Any] = {}
    count_sql = f"SELECT count(*) FROM mailboxes m WHERE {_filters(query, count_params)}"  # noqa: S608
    params: dict[str, Any] = {"since": query.since}
    page_sql = _page_sql(query, params)
    with db.read_snapshot():
        total = conn.execute(count_sql, count_params).fetchone()[0]
        found = conn.execute(page_sql, params).fetchall()
        addresses = _addresses(conn, [r["id"] for r in found[: query.limit]])
    page = [
        MailboxListRow(rows.mailbox(r, addresses[r["id"]]), r["received_24h"], r["sealed"])
        for r in found[: query.limit]
    ]
    next_cursor = None
    if len(found) > query.limit:
        last = found[query.limit - 1]
        width = len(_SORT_KEYS[query.sort])
        key = (*(last[f"k{n}"] for n in range(width)), last["id"])
        next_cursor = encode_cursor(query.sort, query.descending, key)
    return MailboxPage(page, total, next_cursor)


def domain_overview(
    db: Database, domains: tuple[str, ...] | None, since: float
) -> list[DomainOverview]:
    """Per accepted domain (of `domains`, None for all): counts, storage, last access."""
    params: dict[str, Any] = {"since": since}
    scope = "1=1"
    if domains is not None:
        if not domains:
            return []
        for n, domain in enumerate(domains):
            params[f"d{n}"] = domain.lower()
        scope = f"d.name IN ({','.join(f':d{n}' for n in range(len(domains)))})"
    conn = db.conn()
    sums = conn.execute(
        "SELECT d.name AS name, count(m.id) AS mailboxes, coalesce(sum(m.message_count), 0)"  # noqa: S608
        " AS messages, coalesce(sum(m.stored_bytes), 0) AS bytes, max(m.last_login) AS"
        f" last_login, coalesce(sum({_RECEIVED}), 0) AS received FROM domains d LEFT JOIN"
        f" mailboxes m ON m.domain=d.name WHERE {scope} GROUP BY d.name ORDER BY d.name",
        params,
    ).fetchall()
    by_status: dict[str, dict[str, int]] = {r["name"]: {} for r in sums}
    statuses = conn.execute(
        "SELECT d.name, m.status, count(*) FROM domains d JOIN mailboxes m"  # noqa: S608
        f" ON m.domain=d.name WHERE {scope} GROUP BY d.name, m.status",
        params,
    )
    for name, status, count in statuses:
        by_status[name][status] = count
    return [
        DomainOverview(
            r["name"],
            r["mailboxes"],
            by_status[r["name"]],
            r["messages"],
            r["bytes"],
            r["last_login"],
            r["received"],
        )
        for r in sums
    ]
