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


def test_relayed_copies_are_remembered_per_mailbox_until_they_expire(contract_store, box):
    mailbox, _ = box
    relays = contract_store.relays
    key = "<id-1@sender.example>\x00512"
    relays.remember_relayed(mailbox.id, key, ["a@second.example"], time.time() + 60)
    targets = ["a@second.example", "b@second.example"]
    assert relays.already_relayed(mailbox.id, key, targets) == {"a@second.example"}
    assert relays.already_relayed(mailbox.id, key + "1", targets) == set()
    assert relays.already_relayed("mbx-other", key, targets) == set()
    relays.remember_relayed(mailbox.id, "old", ["a@second.example"], time.time() - 1)
    assert relays.already_relayed(mailbox.id, "old", targets) == set()


def test_the_memory_holds_no_address_and_no_message_id(contract_store, box, tmp_path):
    mailbox, _ = box
    contract_store.relays.remember_relayed(
        mailbox.id, "<secret-id@sender.example>\x00512", ["a@second.example"], time.time() + 60
    )
    index = b"".join(path.read_bytes() for path in (tmp_path / "data").glob("gateway.db*"))
    assert b"secret-id" not in index and b"a@second.example" not in index


def test_the_chain_mark_is_stable_per_mailbox_and_not_its_id(contract_store, box):
    mailbox, _ = box
    mark = contract_store.relays.chain_mark(mailbox.id)
    assert mark == contract_store.relays.chain_mark(mailbox.id)
    assert mark != contract_store.relays.chain_mark("mbx-other")
    assert mailbox.id not in mark and len(mark) == 32
