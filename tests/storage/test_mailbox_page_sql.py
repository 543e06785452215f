"""The SQLite mailbox list: a fixed number of statements per page, whatever its size."""

from __future__ import annotations

import pytest

from storage.listing import MailboxQuery
from tests.support.mail import deliver, sample_message


def _statements(store, run) -> list[str]:
    seen: list[str] = []
    conn = store.db.conn()  # this thread's connection, the one the call below uses
    conn.set_trace_callback(seen.append)
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    return [s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))]


@pytest.mark.parametrize("sort", ["name", "received_24h", "last_login"])
def test_a_page_is_three_statements_for_any_page_size(store, domain, sort) -> None:
    made = [
        store.mailboxes.create(domain, name=f"m{n}", aliases=[f"a{n}@{domain}"], actor=None)[0]
        for n in range(40)
    ]
    for mailbox in made[:5]:
        deliver(store, mailbox.id, sample_message(1))
        store.keys.reset_passphrase(mailbox.id)  # its message is now sealed
    counts = []
    for limit in (2, 40):
        query = MailboxQuery(domains=(domain,), search="m", sort=sort, limit=limit)
        statements = _statements(store, lambda q=query: store.mailboxes.page(q))
        counts.append(len(statements))
    assert counts == [3, 3]
    whole = store.mailboxes.page(MailboxQuery(sort="name", limit=40))
    assert sum(r.sealed for r in whole.rows) == 5
    assert all(len(r.mailbox.addresses) == 2 for r in whole.rows)


def test_the_overview_is_two_statements(store, domain) -> None:
    for n in range(10):
        store.mailboxes.create(domain, name=f"m{n}", actor=None)
    statements = _statements(store, lambda: store.domains.overview())
    assert len(statements) == 2
