"""gateway mailbox delete: on hold or disabled only (tests/cli/test_address_scope.py);
--yes needed for a mailbox that holds mail."""

from __future__ import annotations

import pytest

from tests.support.mail import deliver

from .conftest import failed, ok, snapshot


@pytest.fixture
def mailbox(store, mailbox):
    """The root fixture's mailbox, on hold: only then may it be deleted."""
    box, passphrase = mailbox
    return store.mailboxes.update(box.id, status="hold"), passphrase


def test_delete_empty_mailbox_without_yes(run, store, mailbox):
    box, _ = mailbox
    assert "Deleted mailbox" in ok(run("mailbox", "delete", "journal@example.test")).stdout
    assert store.mailboxes.find(box.id) is None


def test_non_empty_needs_yes(run, store, mailbox, data_dir):
    box, _ = mailbox
    deliver(store, box.id, b"Subject: keep me\r\n\r\nbody\r\n")
    before = snapshot(data_dir)
    failed(run("mailbox", "delete", box.id), "holds 1 messages", "--yes")
    assert snapshot(data_dir) == before


def test_delete_with_yes_removes_messages_and_files(run, store, mailbox, data_dir):
    box, _ = mailbox
    deliver(store, box.id, b"Subject: one\r\n\r\nbody\r\n")
    deliver(store, box.id, b"Subject: two\r\n\r\nbody\r\n")
    out = ok(run("mailbox", "delete", box.id, "--yes")).stdout
    assert "2 messages" in out
    assert store.mailboxes.find(box.id) is None
    assert not list((data_dir / "blobs").rglob("*.age"))
    assert store.mailboxes.find("journal@example.test") is None


def test_delete_unknown(run, mailbox, data_dir):
    before = snapshot(data_dir)
    failed(run("mailbox", "delete", "ghost@example.test", "--yes"), "no mailbox ghost@example.test")
    assert snapshot(data_dir) == before
