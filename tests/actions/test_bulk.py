"""The bulk actions: selection by id or filter under the actor's domain scope, one audit
entry per mailbox with a shared reference, the typed confirmation, all or nothing."""

from __future__ import annotations

import re

import pytest

from storage import actions
from storage.bulk import Filter, Selection, filter_from
from storage.errors import (
    ConfirmationNeeded,
    Forbidden,
    InvalidInput,
    NotDeletable,
    NotFound,
    OutOfScope,
)
from tests.web.conftest import deliver

from .test_actions import OPERATOR, as_admin, entries


@pytest.fixture
def boxes(env, domains):
    """Three in alpha.test (two on hold, one with mail), two in beta.test."""
    store = env.store
    made = {}
    for name, domain, status in [
        ("A1", "alpha.test", "hold"),
        ("A2", "alpha.test", "active"),
        ("A3", "alpha.test", "hold"),
        ("B1", "beta.test", "hold"),
        ("B2", "beta.test", "active"),
    ]:
        made[name] = store.mailboxes.create(domain, name=name, status=status, actor=None)[0]
    deliver(store, made["A1"].id)
    deliver(store, made["A1"].id, 2)
    return made


def statuses(store) -> dict[str, str]:
    return {m.name: m.status for m in store.mailboxes.list()}


def test_status_by_filter_covers_only_the_domain_admins_domains(env, boxes):
    da = as_admin(env.store, "da", "domain-admin", ["alpha.test"])
    done = actions.bulk_status(
        env.store, da, actions.BulkStatus(Selection(filter=Filter()), "disabled")
    )
    assert statuses(env.store) == {
        "A1": "disabled",
        "A2": "disabled",
        "A3": "disabled",
        "B1": "hold",
        "B2": "active",
    }
    assert sorted(m.name for m in done.changed) == ["A1", "A2", "A3"]
    found = entries(env.store)
    ref = done.reference
    assert re.fullmatch(r"bulk-[0-9a-z]{12}", ref)
    assert sorted(found[:3]) == sorted(
        ("da", "mailbox.update", boxes[n].id, f"status=disabled bulk={ref}")
        for n in ("A1", "A2", "A3")
    )
    assert found[3] == ("da", "mailbox.bulk-status", ref, "status=disabled changed=3 unchanged=0")


def test_a_filter_naming_a_foreign_domain_or_foreign_ids_is_refused_and_changes_nothing(env, boxes):
    da = as_admin(env.store, "da", "domain-admin", ["alpha.test"])
    before = statuses(env.store)
    foreign = Selection(filter=Filter(domain="beta.test"))
    with pytest.raises(OutOfScope):
        actions.bulk_status(env.store, da, actions.BulkStatus(foreign, "active"))
    mixed = Selection(ids=(boxes["A2"].id, boxes["B2"].id))
    with pytest.raises(OutOfScope):
        actions.bulk_status(env.store, da, actions.BulkStatus(mixed, "hold"))
    with pytest.raises(OutOfScope):
        actions.bulk_delete(
            env.store, da, actions.BulkDelete(Selection(ids=(boxes["B1"].id,)), "1")
        )
    with pytest.raises(OutOfScope):
        actions.export_mailboxes(env.store, da, actions.ExportMailboxes(mixed))
    assert statuses(env.store) == before and env.store.audit.list() == []


def test_viewers_may_not_and_bad_selections_are_refused(env, boxes):
    viewer = as_admin(env.store, "v", "viewer")
    every = Selection(filter=Filter())
    with pytest.raises(Forbidden):
        actions.bulk_status(env.store, viewer, actions.BulkStatus(every, "hold"))
    with pytest.raises(Forbidden):
        actions.export_mailboxes(env.store, viewer, actions.ExportMailboxes(every))
    for bad in (
        Selection(),
        Selection(ids=(), filter=Filter()),
        Selection(ids=("",)),
        Selection(filter=Filter(status="asleep")),
        Selection(filter=Filter(search="nothing like this")),
    ):
        with pytest.raises(InvalidInput):
            actions.bulk_status(env.store, OPERATOR, actions.BulkStatus(bad, "hold"))
    with pytest.raises(InvalidInput):
        actions.bulk_status(env.store, OPERATOR, actions.BulkStatus(every, "asleep"))
    with pytest.raises(NotFound):  # one unknown id refuses the whole selection
        unknown = Selection(ids=(boxes["A2"].id, "mbx-nosuchmailbox00000"))
        actions.bulk_status(env.store, OPERATOR, actions.BulkStatus(unknown, "hold"))
    with pytest.raises(InvalidInput):
        filter_from({"domain": "alpha.test", "colour": "red"})
    assert statuses(env.store)["A2"] == "active" and env.store.audit.list() == []


def test_delete_needs_the_typed_number_and_keeps_the_undeletable(env, boxes):
    every = Selection(filter=Filter(domain="alpha.test"))
    plan = actions.plan_bulk_delete(env.store, OPERATOR, every)
    assert [m.name for m in plan.deletable] == ["A1", "A3"] and plan.confirmation == "2"
    assert [m.name for m in plan.kept] == ["A2"] and plan.messages == 2
    for wrong in (None, "", "3", "A1", "yes", " 1 "):
        with pytest.raises(ConfirmationNeeded, match="confirm with 2"):
            actions.bulk_delete(env.store, OPERATOR, actions.BulkDelete(every, wrong))
    assert len(env.store.mailboxes.list()) == 5 and env.store.audit.list() == []
    done = actions.bulk_delete(env.store, OPERATOR, actions.BulkDelete(every, " 2 "))
    assert sorted(statuses(env.store)) == ["A2", "B1", "B2"]
    assert [m.name for m in done.kept] == ["A2"] and done.messages_destroyed == 2
    ref = done.reference
    assert entries(env.store) == [
        ("cli", "mailbox.delete", boxes["A1"].id, f"messages=2 bulk={ref}"),
        ("cli", "mailbox.delete", boxes["A3"].id, f"messages=0 bulk={ref}"),
        ("cli", "mailbox.bulk-delete", ref, "deleted=2 kept=1"),
    ]
    with pytest.raises(NotDeletable):  # only A2 (active) is left in alpha.test
        actions.bulk_delete(env.store, OPERATOR, actions.BulkDelete(every, "0"))


def test_a_failure_midway_rolls_back_every_change(env, boxes, monkeypatch):
    every = Selection(filter=Filter())
    real_update = env.store.mailboxes.update
    calls = []

    def failing_update(ref, **changes):
        calls.append(ref)
        if len(calls) == 3:
            raise RuntimeError("disk went away")
        return real_update(ref, **changes)

    monkeypatch.setattr(env.store.mailboxes, "update", failing_update)
    with pytest.raises(RuntimeError):
        actions.bulk_status(env.store, OPERATOR, actions.BulkStatus(every, "receive-only"))
    monkeypatch.undo()
    assert "receive-only" not in statuses(env.store).values()
    assert env.store.audit.list() == []


def test_export_rows_are_scoped_and_one_entry_is_written(env, boxes):
    da = as_admin(env.store, "da", "domain-admin", ["alpha.test"])
    done = actions.export_mailboxes(
        env.store, da, actions.ExportMailboxes(Selection(filter=Filter()))
    )
    assert [r.mailbox.name for r in done.rows] == ["A1", "A2", "A3"]
    assert done.rows[0].received_24h == 2
    assert entries(env.store) == [("da", "mailbox.list-export", done.reference, "mailboxes=3")]


def _selects(store, run) -> int:
    seen: list[str] = []
    conn = store.db.conn()  # this thread's connection, the one the action uses
    conn.set_trace_callback(seen.append)
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    return sum(1 for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH")))


def test_an_export_reads_a_fixed_number_of_statements_whatever_its_size(env, domains):
    made = [
        env.store.mailboxes.create("alpha.test", name=f"m{n}", actor=None)[0] for n in range(40)
    ]
    counts = []
    for chosen in (made[:2], made):
        by_ids = Selection(ids=tuple(m.id for m in chosen))
        wanted = actions.ExportMailboxes(by_ids)
        counts.append(
            _selects(env.store, lambda w=wanted: actions.export_mailboxes(env.store, OPERATOR, w))
        )
    every = actions.ExportMailboxes(Selection(filter=Filter(domain="alpha.test")))
    counts.append(_selects(env.store, lambda: actions.export_mailboxes(env.store, OPERATOR, every)))
    assert counts == [3, 3, 3]
