"""`gateway mailbox update --passphrase-max-age | --reset-lock`, and reset-passphrase --confirm."""

from __future__ import annotations

import re

from storage.passphrase import looks_valid
from tests.support.policy import age_passphrase

from .conftest import as_json, failed, ok, snapshot


def actions(store, target: str) -> list[str]:
    return [e.action for e in store.audit.list(target=target)]


def test_max_age_is_set_shown_and_overdue(run, store, mailbox):
    box, _ = mailbox
    document = as_json(run("mailbox", "update", box.id, "--passphrase-max-age", "6m", "--json"))
    assert document["passphrase_max_age_days"] == 180
    assert document["passphrase_overdue"] is False
    assert store.mailboxes.get(box.id).settings["passphrase_max_age_days"] == 180
    assert actions(store, box.id)[0] == "mailbox.passphrase-max-age"

    age_passphrase(store, box.id, 200)
    shown = as_json(run("mailbox", "show", box.id, "--json"))
    assert shown["passphrase_overdue"] is True and shown["reset_locked"] is False
    text = ok(run("mailbox", "show", box.id)).stdout
    assert re.search(r"^max passphrase age: +6m$", text, re.M), text
    assert "(OVERDUE: change the passphrase)" in text
    listed = as_json(run("mailbox", "list", "--json"))
    assert [m["passphrase_overdue"] for m in listed] == [True]

    cleared = as_json(run("mailbox", "update", box.id, "--passphrase-max-age", "none", "--json"))
    assert cleared["passphrase_max_age_days"] is None and cleared["passphrase_overdue"] is False


def test_a_bad_max_age_is_a_usage_error_and_changes_nothing(run, store, mailbox, data_dir):
    box, _ = mailbox
    before = snapshot(data_dir)
    failed(
        run("mailbox", "update", box.id, "--passphrase-max-age", "2m", "--status", "hold"),
        "Invalid value for '--passphrase-max-age'",
        code=2,
    )
    assert snapshot(data_dir) == before


def test_reset_lock_on_and_off(run, store, mailbox):
    box, _ = mailbox
    document = as_json(run("mailbox", "update", box.id, "--reset-lock", "on", "--json"))
    assert document["reset_locked"] is True
    assert re.search(r"^reset lock: +on$", ok(run("mailbox", "show", box.id)).stdout, re.M)
    assert "mailbox.reset-lock-set" in actions(store, box.id)
    document = as_json(run("mailbox", "update", box.id, "--reset-lock", "off", "--json"))
    assert document["reset_locked"] is False
    assert "reset_locked" not in store.mailboxes.get(box.id).settings
    assert "mailbox.reset-lock-clear" in actions(store, box.id)
    failed(run("mailbox", "update", box.id, "--reset-lock", "maybe"), "'--reset-lock'", code=2)


def test_a_locked_reset_needs_confirm_with_the_id(run, store, mailbox, data_dir):
    box, _ = mailbox
    store.mailboxes.update(box.id, settings_update={"reset_locked": True})
    before = snapshot(data_dir)
    for extra in ([], ["--confirm", "yes"], ["--confirm", box.address]):
        stderr = failed(run("mailbox", "reset-passphrase", box.id, "--yes", *extra))
        assert f"Error: passphrase resets of {box.id} are locked: give --confirm {box.id}" in (
            stderr
        )
    assert snapshot(data_dir) == before
    assert actions(store, box.id).count("mailbox.passphrase-reset-refused") == 3

    document = as_json(
        run("mailbox", "reset-passphrase", box.address, "--yes", "--confirm", box.id, "--json")
    )
    assert looks_valid(document["passphrase"])
    assert len(store.keys.list_epochs(box.id)) == 2


def test_an_unlocked_reset_needs_no_confirm(run, store, mailbox):
    box, _ = mailbox
    document = as_json(run("mailbox", "reset-passphrase", box.id, "--yes", "--json"))
    assert looks_valid(document["passphrase"])
