"""Promises of Mailboxes.page and Domains.overview: the mailbox list at scale."""

from __future__ import annotations

import time

import pytest

from storage import InvalidInput, Mailbox, Store
from storage.listing import SORTS, MailboxQuery, encode_cursor
from tests.support.mail import deliver, sample_message

OTHER = "other.test"
STATUS_CYCLE = ("active", "hold", "receive-only", "disabled")


@pytest.fixture
def many(contract_store: Store) -> list[Mailbox]:
    """23 mailboxes in two domains, statuses cycling, names with ties in case."""
    contract_store.domains.add("example.test")
    contract_store.domains.add(OTHER)
    made = []
    for n in range(23):
        domain = OTHER if n % 3 == 0 else "example.test"
        name = f"{'Box' if n % 2 else 'box'} {n % 7:02d}"
        mailbox, _ = contract_store.mailboxes.create(
            domain,
            name=name,
            description=f"desc {n}",
            aliases=[f"alias{n}@{domain}"] if n % 5 == 0 else [],
            status=STATUS_CYCLE[n % 4],
            actor=None,
        )
        made.append(mailbox)
    for n, mailbox in enumerate(made[:6]):  # 6 messages in example.test, 1 in other.test
        for k in range(n % 3 or int(n == 3)):
            deliver(contract_store, mailbox.id, sample_message(k + 1))
    return [contract_store.mailboxes.get(m.id) for m in made]


def _all_by_cursor(store: Store, query: MailboxQuery) -> list[str]:
    seen, cursor = [], None
    while True:
        page = store.mailboxes.page(
            MailboxQuery(**{**query.__dict__, "cursor": cursor, "offset": 0})
        )
        assert len(page.rows) <= query.limit
        seen.extend(r.mailbox.id for r in page.rows)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def _all_by_offset(store: Store, query: MailboxQuery) -> list[str]:
    seen: list[str] = []
    while True:
        page = store.mailboxes.page(MailboxQuery(**{**query.__dict__, "offset": len(seen)}))
        if not page.rows:
            return seen
        seen.extend(r.mailbox.id for r in page.rows)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("descending", [False, True])
def test_paging_covers_every_row_once_in_sort_order(
    contract_store: Store, many: list[Mailbox], sort: str, descending: bool
) -> None:
    query = MailboxQuery(sort=sort, descending=descending, limit=4)
    by_cursor = _all_by_cursor(contract_store, query)
    by_offset = _all_by_offset(contract_store, query)
    assert sorted(by_cursor) == sorted(m.id for m in many)
    assert by_cursor == by_offset
    whole = contract_store.mailboxes.page(MailboxQuery(sort=sort, descending=descending, limit=500))
    assert [r.mailbox.id for r in whole.rows] == by_cursor
    assert whole.total == 23 and whole.next_cursor is None
    values = [_value(r, sort) for r in whole.rows]
    assert values == sorted(values, reverse=descending)


def _value(row, sort: str) -> object:
    m = row.mailbox
    return {
        "name": (m.name.lower(), m.id),
        "domain": (m.domain, m.name.lower(), m.id),
        "status": (m.status, m.name.lower(), m.id),
        "messages": (m.messages, m.id),
        "bytes": (m.bytes, m.id),
        "last_login": (m.last_login or 0.0, m.id),
        "received_24h": (row.received_24h, m.id),
        "created": (m.created, m.id),
    }[sort]


def test_rows_carry_their_counts_and_addresses(contract_store: Store, many) -> None:
    page = contract_store.mailboxes.page(MailboxQuery(sort="messages", descending=True, limit=2))
    top = page.rows[0]
    assert top.mailbox.messages == 2 and top.received_24h == 2 and top.sealed == 0
    later = MailboxQuery(sort="received_24h", descending=True, now=time.time() + 2 * 86400)
    assert {r.received_24h for r in contract_store.mailboxes.page(later).rows} == {0}
    aliased = contract_store.mailboxes.page(MailboxQuery(search="alias5@")).rows
    assert [r.mailbox.addresses for r in aliased] == [many[5].addresses]
    assert aliased[0].mailbox.addresses[0] == many[5].address


def test_search_matches_id_name_description_and_address(contract_store: Store, many) -> None:
    def found(text: str) -> set[str]:
        return {r.mailbox.id for r in contract_store.mailboxes.page(MailboxQuery(search=text)).rows}

    assert found(many[4].id.upper()) == {many[4].id}
    assert found("desc 17") == {many[17].id}
    assert found("ALIAS10@") == {many[10].id}
    assert found("box 03") == {m.id for m in many if m.name.lower() == "box 03"}
    assert found("%") == set() and found("_") == set()  # wildcards are plain text
    page = contract_store.mailboxes.page(MailboxQuery(search="desc 1", limit=3))
    assert page.total == 11 and len(page.rows) == 3  # desc 1, 10..19


def test_status_and_domain_scope_filter(contract_store: Store, many) -> None:
    held = contract_store.mailboxes.page(MailboxQuery(status="hold", limit=500))
    assert {r.mailbox.id for r in held.rows} == {m.id for m in many if m.status == "hold"}
    assert held.total == len(held.rows) == 6
    scoped = contract_store.mailboxes.page(MailboxQuery(domains=(OTHER.upper(),), limit=500))
    assert {r.mailbox.id for r in scoped.rows} == {m.id for m in many if m.domain == OTHER}
    assert scoped.total == 8
    both = MailboxQuery(domains=(OTHER,), status="active", search="box", limit=500)
    expected = {m.id for m in many if m.domain == OTHER and m.status == "active"}
    assert {r.mailbox.id for r in contract_store.mailboxes.page(both).rows} == expected
    nothing = contract_store.mailboxes.page(MailboxQuery(domains=()))
    assert nothing.rows == [] and nothing.total == 0 and nothing.next_cursor is None


def test_an_id_selection_narrows_the_other_filters(contract_store: Store, many) -> None:
    chosen = (many[0].id.upper(), many[1].id, many[2].id, "mbx-nosuchmailbox")
    page = contract_store.mailboxes.page(MailboxQuery(ids=chosen, limit=500))
    assert {r.mailbox.id for r in page.rows} == {m.id for m in many[:3]} and page.total == 3
    scoped = MailboxQuery(ids=chosen, domains=(OTHER,), limit=500)
    expected = {m.id for m in many[:3] if m.domain == OTHER}
    assert {r.mailbox.id for r in contract_store.mailboxes.page(scoped).rows} == expected
    none = contract_store.mailboxes.page(MailboxQuery(ids=()))
    assert none.rows == [] and none.total == 0


def test_a_cursor_is_stable_under_inserts(contract_store: Store, many) -> None:
    first = contract_store.mailboxes.page(MailboxQuery(sort="created", limit=10))
    contract_store.mailboxes.create("example.test", name="aaa new", actor=None)
    rest = _all_by_cursor(contract_store, MailboxQuery(sort="created", limit=10))
    after = contract_store.mailboxes.page(
        MailboxQuery(sort="created", limit=500, cursor=first.next_cursor)
    )
    ids = [r.mailbox.id for r in first.rows] + [r.mailbox.id for r in after.rows]
    assert ids[:23] == [m.id for m in many] and len(rest) == 24


@pytest.mark.parametrize(
    "query",
    [
        MailboxQuery(sort="size"),
        MailboxQuery(status="paused"),
        MailboxQuery(limit=0),
        MailboxQuery(limit=501),
        MailboxQuery(offset=-1),
        MailboxQuery(cursor="not a cursor!"),
        MailboxQuery(cursor=encode_cursor("name", True, ("x", "y"))),  # another direction
        MailboxQuery(cursor=encode_cursor("name", False, ("x",))),  # wrong width
        MailboxQuery(cursor=encode_cursor("name", False, ("x", "y")), offset=3),
        MailboxQuery(search="x" * 201),
        MailboxQuery(ids=tuple(f"mbx-{n}" for n in range(10_001))),
    ],
)
def test_bad_queries_are_refused(contract_store: Store, many, query: MailboxQuery) -> None:
    with pytest.raises(InvalidInput):
        contract_store.mailboxes.page(query)


def test_domain_overview_aggregates(contract_store: Store, many) -> None:
    contract_store.domains.add("empty.test")
    contract_store.mailboxes.update(many[1].id, status="active")
    overview = {o.name: o for o in contract_store.domains.overview()}
    assert sorted(overview) == ["empty.test", "example.test", OTHER]
    assert overview["empty.test"].mailboxes == 0 and overview["empty.test"].by_status == {}
    example = [contract_store.mailboxes.get(m.id) for m in many if m.domain == "example.test"]
    ex = overview["example.test"]
    assert ex.mailboxes == len(example) == 15
    assert sum(ex.by_status.values()) == 15
    assert ex.by_status["active"] == sum(m.status == "active" for m in example)
    assert ex.messages == sum(m.messages for m in example) == ex.received_24h == 6
    assert ex.bytes == sum(m.bytes for m in example) > 0
    assert overview[OTHER].received_24h == 1
    scoped = contract_store.domains.overview((OTHER,), now=time.time() + 2 * 86400)
    assert [o.name for o in scoped] == [OTHER] and scoped[0].received_24h == 0
    assert contract_store.domains.overview(()) == []
