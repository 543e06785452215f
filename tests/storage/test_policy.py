"""Account-security policy rules (storage/policy.py) and what the store records for them."""

from __future__ import annotations

import sqlite3
import time

import pytest

from storage import InvalidInput, WrongPassphrase, open_store
from storage import policy as p
from storage.policy import ResetDecision
from tests.support.argon import FAST_KDF
from tests.support.policy import DAY, age_passphrase


def test_every_passphrase_event_records_when_the_passphrase_was_set(store, mailbox):
    box, passphrase = mailbox
    started = time.time()
    assert box.passphrase_set_at is not None and box.passphrase_set_at <= time.time()

    age_passphrase(store, box.id, 400)
    new = store.keys.change_passphrase(box.id, passphrase)
    assert store.mailboxes.get(box.id).passphrase_set_at >= started

    age_passphrase(store, box.id, 400)
    current = store.keys.reset_passphrase(box.id)
    assert store.mailboxes.get(box.id).passphrase_set_at >= started

    age_passphrase(store, box.id, 400)
    assert store.keys.recover(box.id, new, current) == 1
    assert store.mailboxes.get(box.id).passphrase_set_at >= started


def test_a_failed_change_records_nothing(store, mailbox):
    box, _ = mailbox
    old = age_passphrase(store, box.id, 400)
    with pytest.raises(WrongPassphrase):
        store.keys.change_passphrase(box.id, "0" * 30)
    assert store.mailboxes.get(box.id).passphrase_set_at == pytest.approx(old)


def test_an_older_index_gains_the_column_with_the_newest_epoch_time(data_dir, store, mailbox):
    box, _ = mailbox
    store.keys.reset_passphrase(box.id)  # two epochs: the newest one counts
    store.close()
    with sqlite3.connect(data_dir / "gateway.db") as conn:
        conn.execute("UPDATE epochs SET created=? WHERE epoch=1", (1_000_000.0,))
        conn.execute("UPDATE epochs SET created=? WHERE epoch=2", (2_000_000.0,))
        conn.execute("ALTER TABLE mailboxes DROP COLUMN passphrase_set_at")
    conn.close()

    reopened = open_store(data_dir, kdf=FAST_KDF)
    try:
        assert reopened.mailboxes.get(box.id).passphrase_set_at == 2_000_000.0
        again = open_store(data_dir, kdf=FAST_KDF)  # a second opening changes nothing
        assert again.mailboxes.get(box.id).passphrase_set_at == 2_000_000.0
        again.close()
    finally:
        reopened.close()


def test_settings_update_changes_only_its_keys(store, mailbox):
    box, _ = mailbox
    store.mailboxes.update(box.id, settings={"retention": {"days": 5}, "other": 1})
    updated = store.mailboxes.update(box.id, status="hold", settings_update={"reset_locked": True})
    assert updated.status == "hold"
    assert updated.settings == {"retention": {"days": 5}, "other": 1, "reset_locked": True}
    cleared = store.mailboxes.update(box.id, settings_update={"reset_locked": None, "other": None})
    assert cleared.settings == {"retention": {"days": 5}}


def test_overdue_only_after_the_maximum_age(store, mailbox):
    box, _ = mailbox
    changed = age_passphrase(store, box.id, 100)
    plain = store.mailboxes.get(box.id)
    assert p.passphrase_age(plain, time.time()).overdue is False  # no maximum age
    three = store.mailboxes.update(box.id, settings_update=p.max_age_update(90))
    age = p.passphrase_age(three, time.time())
    assert (age.max_age_days, age.overdue) == (90, True)
    assert age.due == pytest.approx(changed + 90 * DAY)
    assert age.document() == {
        "passphrase_max_age_days": 90,
        "passphrase_changed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(changed)),
        "passphrase_overdue": True,
    }
    six = store.mailboxes.update(box.id, settings_update=p.max_age_update(180))
    assert p.passphrase_age(six, time.time()).overdue is False
    assert p.passphrase_age(six, changed + 180 * DAY + 1).overdue is True


@pytest.mark.parametrize(
    ("text", "days"), [("3m", 90), ("6M", 180), (" 12m ", 365), ("none", None)]
)
def test_max_age_choices(text, days):
    assert p.parse_max_age(text) == days
    assert p.max_age_choice(days) == text.strip().lower()


@pytest.mark.parametrize("text", ["", "1m", "90", "forever", "3 months"])
def test_other_max_age_choices_are_refused(text):
    with pytest.raises(InvalidInput, match="3m, 6m, 12m"):
        p.parse_max_age(text)


@pytest.mark.parametrize("value", [True, False, 30, -90, "90", 90.0, [90], 366])
def test_api_max_age_values_other_than_the_choices_are_refused(value):
    with pytest.raises(InvalidInput, match="90, 180, 365"):
        p.check_max_age_days(value)


def test_api_max_age_none_and_zero_mean_no_maximum():
    assert p.check_max_age_days(None) is None
    assert p.check_max_age_days(0) is None
    assert p.check_max_age_days(365) == 365


def test_who_may_set_and_clear_the_reset_lock(store, mailbox):
    box, _ = mailbox
    unlocked = store.mailboxes.get(box.id)
    locked = store.mailboxes.update(box.id, settings_update=p.reset_lock_update(True))
    assert p.reset_locked(locked) and not p.reset_locked(unlocked)
    for role in ("superadmin", "domain-admin"):
        assert p.may_change_reset_lock(role, unlocked, True)
        assert p.may_change_reset_lock(role, locked, True)
    assert p.may_change_reset_lock("superadmin", locked, False)
    assert not p.may_change_reset_lock("domain-admin", locked, False)
    assert not p.may_change_reset_lock("viewer", unlocked, True)
    cleared = store.mailboxes.update(box.id, settings_update=p.reset_lock_update(False))
    assert "reset_locked" not in cleared.settings


def test_a_locked_reset_needs_a_superadmin_and_the_typed_id(store, mailbox):
    box, _ = mailbox
    unlocked = store.mailboxes.get(box.id)
    assert p.reset_decision(unlocked, "domain-admin", None) is ResetDecision.ALLOWED
    locked = store.mailboxes.update(box.id, settings_update=p.reset_lock_update(True))
    assert p.reset_decision(locked, "domain-admin", box.id) is ResetDecision.LOCKED
    assert p.reset_decision(locked, "superadmin", None) is ResetDecision.UNCONFIRMED
    assert p.reset_decision(locked, "superadmin", box.address) is ResetDecision.UNCONFIRMED
    assert p.reset_decision(locked, "superadmin", box.id + "x") is ResetDecision.UNCONFIRMED
    assert p.reset_decision(locked, "superadmin", f" {box.id.upper()} ") is ResetDecision.ALLOWED


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], ()),
        (["all"], ("all",)),
        (["superadmin", "domain-admin"], ("superadmin", "domain-admin")),
        (["viewer", "viewer"], ("viewer",)),
    ],
)
def test_totp_requirement_values(values, expected):
    assert p.check_totp_requirement(values) == expected


@pytest.mark.parametrize("values", [["admin"], ["all", "viewer"], ["ALL"], ["true"]])
def test_other_totp_requirements_are_refused(values):
    with pytest.raises(ValueError, match="all"):
        p.check_totp_requirement(values)


def test_who_must_enrol(store):
    store.admins.create("ann", "domain-admin", [], "pw-pw-pw-pw-pw-pw")
    ann = store.admins.get("ann")
    assert p.must_enrol(ann, ["domain-admin"]) and p.must_enrol(ann, ["all"])
    assert not p.must_enrol(ann, ["superadmin"]) and not p.must_enrol(ann, [])
    store.admins.set_totp("ann", "JBSWY3DPEHPK3PXP", [])
    assert not p.must_enrol(store.admins.get("ann"), ["all"])
