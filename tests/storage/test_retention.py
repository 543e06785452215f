"""Retention rules with a fake clock: retrieved = \\Seen set, with the time it was set."""

from __future__ import annotations

import time

import pytest

from storage import InvalidInput
from storage.maintenance import apply_retention, rules_of, set_rules
from storage.maintenance.retention import retrieved_times
from tests.support.mail import deliver, message_bytes

DAY = 86400.0


@pytest.fixture
def box(store, mailbox):
    """A mailbox with 4 messages; the first two retrieved (\\Seen) now."""
    mbx, _ = mailbox
    ids = [deliver(store, mbx.id, message_bytes(n)).id for n in range(4)]
    store.messages.set_flags(mbx.id, ids[:2], ["\\Seen"])
    return mbx, ids


def test_rules_are_off_by_default_and_nothing_is_deleted(store, box):
    mbx, ids = box
    assert not rules_of(store.mailboxes.get(mbx.id)).active
    report = apply_retention(store, now=time.time() + 10_000 * DAY)
    assert report.deleted == 0 and report.mailboxes == []
    assert len(store.messages.list(mbx.id)) == 4


def test_retrieved_mail_goes_after_n_days_unretrieved_after_m(store, box):
    mbx, ids = box
    set_rules(store, mbx.id, retrieved_days=30, unretrieved_days=90)
    now = time.time()
    assert apply_retention(store, now=now + 29 * DAY).deleted == 0
    report = apply_retention(store, now=now + 31 * DAY)
    assert sorted(report.mailboxes[0].retrieved) == sorted(ids[:2])
    assert report.mailboxes[0].unretrieved == []
    assert [m.id for m in store.messages.list(mbx.id)] == ids[2:]
    assert store.mailboxes.get(mbx.id).messages == 2
    report = apply_retention(store, now=now + 91 * DAY)
    assert sorted(report.mailboxes[0].unretrieved) == sorted(ids[2:])
    assert store.messages.list(mbx.id) == []
    assert not list(store.blobs.blobs.rglob("*.age"))
    audit = store.audit.list(actor="retention")
    assert [e.action for e in audit] == ["retention.delete", "retention.delete"]
    assert audit[-1].detail == "2 retrieved more than 30 days ago"


def test_the_retrieved_clock_starts_when_seen_is_set_not_on_arrival(store, box):
    mbx, ids = box
    set_rules(store, mbx.id, retrieved_days=10)
    now = time.time()
    # the first message was read 5 days later than the second: its \Seen time counts
    with store.db.write() as conn:
        conn.execute(
            "UPDATE message_seen SET seen_at=? WHERE message_id=?", (now + 5 * DAY, ids[0])
        )
    report = apply_retention(store, now=now + 11 * DAY)
    assert report.mailboxes[0].retrieved == [ids[1]]
    assert retrieved_times(store, mbx.id).keys() == {ids[0]}


def test_clearing_seen_makes_a_message_unretrieved_again(store, box):
    mbx, ids = box
    set_rules(store, mbx.id, retrieved_days=1)
    store.messages.set_flags(mbx.id, [ids[0]], ["\\Seen"], mode="remove")
    report = apply_retention(store, now=time.time() + 2 * DAY)
    assert report.mailboxes[0].retrieved == [ids[1]]


def test_seen_without_a_recorded_time_starts_counting_at_the_first_run(store, box):
    mbx, ids = box
    set_rules(store, mbx.id, retrieved_days=7)
    with store.db.write() as conn:  # e.g. flagged before retention existed
        conn.execute("DELETE FROM message_seen")
    now = time.time() + 100 * DAY
    assert apply_retention(store, now=now).deleted == 0
    assert retrieved_times(store, mbx.id) == {ids[0]: now, ids[1]: now}
    assert apply_retention(store, now=now + 8 * DAY).deleted == 2


def test_dry_run_reports_but_keeps_everything(store, box):
    mbx, ids = box
    set_rules(store, mbx.id, unretrieved_days=1)
    report = apply_retention(store, now=time.time() + 2 * DAY, dry_run=True)
    assert sorted(report.mailboxes[0].unretrieved) == sorted(ids[2:])
    assert len(store.messages.list(mbx.id)) == 4
    assert store.audit.list(actor="retention") == []


def test_rules_live_in_the_mailbox_settings_next_to_other_settings(store, box):
    mbx, _ = box
    store.mailboxes.update(mbx.id, settings={"note": "kept"})
    set_rules(store, mbx.id, retrieved_days=30)
    set_rules(store, mbx.id, unretrieved_days=365)
    settings = store.mailboxes.get(mbx.id).settings
    assert settings == {
        "note": "kept",
        "retention": {"delete_retrieved_after_days": 30, "delete_unretrieved_after_days": 365},
    }
    set_rules(store, mbx.id, retrieved_days=0, unretrieved_days=0)
    assert store.mailboxes.get(mbx.id).settings == {"note": "kept"}
    with pytest.raises(InvalidInput):
        set_rules(store, mbx.id, retrieved_days=-1)
