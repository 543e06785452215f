"""Relays (storage/contract/relays.py): targets per mailbox and the relayed-copy memory."""

from __future__ import annotations

import time

import pytest

from storage.errors import InvalidInput, NotFound
from storage.relay import MAX_TARGETS


def test_a_target_is_added_normalized_changed_in_place_and_removed(contract_store, box):
    mailbox, _ = box
    relays = contract_store.relays
    added = relays.put(mailbox.id, " Archive@Second.Example ", "required", "root")
    assert (added.address, added.policy, added.created_by) == (
        "archive@second.example",
        "required",
        "root",
    )
    changed = relays.put(mailbox.id, "archive@second.example", "Best-Effort", "kim")
    assert [(t.address, t.policy, t.created_by) for t in relays.list(mailbox.id)] == [
        ("archive@second.example", "best-effort", "kim")
    ]
    assert changed.created >= added.created
    removed = relays.remove(mailbox.id, "ARCHIVE@second.example")
    assert removed.address == "archive@second.example"
    assert relays.list(mailbox.id) == []
    with pytest.raises(NotFound):
        relays.remove(mailbox.id, "archive@second.example")


@pytest.mark.parametrize(
    ("address", "policy"),
    [
        ("not an address", "required"),
        ("a@b.example\r\nRCPT TO:<x@y>", "required"),
        ("ok@second.example", "sometimes"),
    ],
)
def test_bad_addresses_and_policies_are_refused_and_nothing_is_stored(
    contract_store, box, address, policy
):
    mailbox, _ = box
    with pytest.raises(InvalidInput):
        contract_store.relays.put(mailbox.id, address, policy, "root")
    assert contract_store.relays.list(mailbox.id) == []


def test_at_most_twenty_targets_but_a_change_of_the_twentieth_is_fine(contract_store, box):
    mailbox, _ = box
    for n in range(MAX_TARGETS):
        contract_store.relays.put(mailbox.id, f"t{n}@second.example", "required", "root")
    with pytest.raises(InvalidInput, match="at most 20"):
        contract_store.relays.put(mailbox.id, "one-more@second.example", "required", "root")
    contract_store.relays.put(mailbox.id, "t19@second.example", "best-effort", "root")
    assert len(contract_store.relays.list(mailbox.id)) == MAX_TARGETS


def test_unknown_mailbox_and_deleted_mailbox(contract_store, box):
    mailbox, _ = box
    with pytest.raises(NotFound):
        contract_store.relays.put("mbx-nosuch", "a@second.example", "required", "root")
    contract_store.relays.put(mailbox.id, "a@second.example", "required", "root")
    contract_store.mailboxes.update(mailbox.id, status="hold")
    contract_store.mailboxes.delete(mailbox.id, force=True)
    assert contract_store.relays.list(mailbox.id) == []


def test_sent_tags_are_remembered_until_they_expire(contract_store):
    now = time.time()
    contract_store.relays.remember([b"a" * 32, b"b" * 32], now + 60)
    assert contract_store.relays.sent([b"a" * 32, b"c" * 32], now) == {b"a" * 32}
    assert contract_store.relays.sent([b"a" * 32], now + 61) == set()
    assert contract_store.relays.sent([], now) == set()
