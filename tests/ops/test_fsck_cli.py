"""`gateway fsck` through the command line (what fsck finds: tests/storage/test_fsck.py)."""

from __future__ import annotations

import json

import pytest

from tests.support.mail import deliver, message_bytes


@pytest.fixture
def two_boxes(store, mailbox):
    """Two mailboxes with five messages each; returns (first, passphrase, second)."""
    first, passphrase = mailbox
    second, _ = store.mailboxes.create("example.test", name="other", actor=None)
    for n in range(5):
        deliver(store, first.id, message_bytes(n))
        deliver(store, second.id, message_bytes(100 + n))
    return first, passphrase, second


def test_fsck_cli_exit_status_and_json(run, store, two_boxes):
    first, _, _ = two_boxes
    clean = run("fsck")
    assert clean.exit_code == 0, clean.output
    assert "Checked 10 messages: all well." in clean.stdout
    victim = store.messages.list(first.id)[0]
    store.blobs.path(victim.path).unlink()
    found = run("fsck", "--json")
    assert found.exit_code == 1
    document = json.loads(found.stdout)
    assert document["ok"] is False
    assert document["missing"][0]["message_id"] == victim.id
    repaired = run("fsck", "--repair")
    assert repaired.exit_code == 1
    assert "1 index rows removed" in repaired.stdout
    assert run("fsck").exit_code == 0
    assert run("fsck", "--bogus").exit_code == 2


def test_fsck_cli_refuses_a_directory_without_a_store(run, tmp_path):
    result = run("fsck", env={"GATEWAY_DATA": str(tmp_path / "nothing")})
    assert result.exit_code == 1
    assert "not a Journal Gateway data directory" in result.stderr
    assert not (tmp_path / "nothing").exists()
