"""`gateway retention` through the command line (the rules: tests/storage/test_retention.py)."""

from __future__ import annotations

import json

import pytest

from tests.support.mail import deliver, message_bytes


@pytest.fixture
def box(store, mailbox):
    """A mailbox with 4 messages; the first two retrieved (\\Seen) now."""
    mbx, _ = mailbox
    ids = [deliver(store, mbx.id, message_bytes(n)).id for n in range(4)]
    store.messages.set_flags(mbx.id, ids[:2], ["\\Seen"])
    return mbx, ids


def test_retention_cli(run, store, box):
    mbx, ids = box
    assert "No mailbox has retention rules" in run("retention", "show").stdout
    result = run("retention", "set", "journal@example.test", "--unretrieved-days", "0")
    assert result.exit_code == 0
    result = run("retention", "set", mbx.id, "--retrieved-days", "30")
    assert result.exit_code == 0, result.output
    assert "after 30 days" in result.stdout
    assert run("retention", "set", mbx.id).exit_code == 2
    assert run("retention", "set", mbx.id, "--retrieved-days", "-3").exit_code == 2
    shown = json.loads(run("retention", "show", "--json").stdout)
    assert shown == [
        {
            "id": mbx.id,
            "address": mbx.address,
            "delete_retrieved_after_days": 30,
            "delete_unretrieved_after_days": 0,
        }
    ]
    dry = run("retention", "run", "--dry-run", "--json")
    assert json.loads(dry.stdout)["deleted"] == 0  # nothing is 30 days old yet
    done = run("retention", "run")
    assert done.exit_code == 0 and "deleted 0 messages in 1 mailboxes" in done.stdout
    assert len(store.messages.list(mbx.id)) == 4
