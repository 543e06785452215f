"""Promises of the Messages area."""

from __future__ import annotations

import pytest

from storage import MessageDamaged, NotFound, QuotaExceeded, Store
from tests.support.mail import deliver, plaintext, sample_message

from .conftest import DOMAIN


def test_a_delivery_is_listed_only_after_commit(contract_store: Store, box) -> None:
    mailbox, _ = box
    delivery = contract_store.messages.begin_delivery(mailbox.id)
    delivery.write(sample_message(1))
    assert contract_store.messages.list(mailbox.id) == []
    (info,) = contract_store.messages.commit_deliveries([delivery])
    assert [m.id for m in contract_store.messages.list(mailbox.id)] == [info.id]
    assert contract_store.mailboxes.get(mailbox.id).messages == 1


def test_an_aborted_delivery_leaves_nothing(contract_store: Store, box) -> None:
    mailbox, _ = box
    delivery = contract_store.messages.begin_delivery(mailbox.id)
    delivery.write(sample_message(1))
    delivery.abort()
    assert contract_store.messages.list(mailbox.id) == []
    assert contract_store.maintenance.reconcile().adopted == []


def test_a_commit_for_a_deleted_mailbox_raises_and_stores_nothing(
    contract_store: Store, box
) -> None:
    mailbox, _ = box
    other, _ = contract_store.mailboxes.create(DOMAIN, actor=None)
    kept = contract_store.messages.begin_delivery(other.id)
    lost = contract_store.messages.begin_delivery(mailbox.id)
    for delivery in (kept, lost):
        delivery.write(sample_message(1))
    contract_store.mailboxes.delete(mailbox.id)
    with pytest.raises(NotFound):
        contract_store.messages.commit_deliveries([kept, lost])
    assert contract_store.messages.list(other.id) == []


def test_the_light_listing_matches_the_full_one(contract_store: Store, box) -> None:
    mailbox, _ = box
    other, _ = contract_store.mailboxes.create(DOMAIN, actor=None)
    infos = [deliver(contract_store, mailbox.id, sample_message(n)) for n in range(3)]
    deliver(contract_store, other.id, sample_message(9))
    contract_store.messages.set_flags(mailbox.id, [infos[1].id], ["\\Seen", "\\Flagged"])
    contract_store.messages.delete(mailbox.id, [infos[2].id])
    full = contract_store.messages.list(mailbox.id)
    light = contract_store.messages.listing(mailbox.id)
    assert [(m.id, m.uid, m.epoch, m.size, m.flags) for m in full] == [tuple(m) for m in light]
    assert [m.id for m in light] == [infos[0].id, infos[1].id]
    assert light[1].flags == {"\\Seen", "\\Flagged"} and light[0].flags == set()
    assert light[0].size == len(sample_message(0))


def test_from_uid_pages_whole_messages_in_uid_order(contract_store: Store, box) -> None:
    mailbox, _ = box
    other, _ = contract_store.mailboxes.create(DOMAIN, actor=None)
    infos = [deliver(contract_store, mailbox.id, sample_message(n)) for n in range(5)]
    deliver(contract_store, other.id, sample_message(9))
    contract_store.messages.delete(mailbox.id, [infos[2].id])
    page = contract_store.messages.from_uid(mailbox.id, infos[1].uid, 2)
    assert page == [contract_store.messages.get(mailbox.id, i.id) for i in (infos[1], infos[3])]
    assert contract_store.messages.from_uid(mailbox.id, infos[4].uid + 1, 10) == []


def test_uids_grow_and_next_uid_never_decreases(contract_store: Store, box) -> None:
    mailbox, _ = box
    first = deliver(contract_store, mailbox.id, sample_message(1))
    second = deliver(contract_store, mailbox.id, sample_message(2))
    assert second.uid > first.uid
    contract_store.messages.delete(mailbox.id, [second.id])
    assert contract_store.messages.next_uid(mailbox.id) == second.uid + 1


def test_reading_returns_exactly_what_was_delivered(contract_store: Store, box) -> None:
    mailbox, passphrase = box
    info = deliver(contract_store, mailbox.id, sample_message(1))
    key = contract_store.keys.unlock(mailbox.id, passphrase)
    assert plaintext(contract_store, key, info) == sample_message(1)
    assert contract_store.messages.get(mailbox.id, info.id) == info


def test_reading_with_another_mailboxs_key_raises_MessageDamaged(
    contract_store: Store, box
) -> None:
    mailbox, _ = box
    other, other_passphrase = contract_store.mailboxes.create(DOMAIN, actor=None)
    info = deliver(contract_store, mailbox.id, sample_message(1))
    with pytest.raises(MessageDamaged):
        plaintext(contract_store, contract_store.keys.unlock(other.id, other_passphrase), info)
    with pytest.raises(NotFound):
        contract_store.messages.get(other.id, info.id)


def test_flags_are_added_removed_and_replaced(contract_store: Store, box) -> None:
    mailbox, _ = box
    info = deliver(contract_store, mailbox.id, sample_message(1))
    messages = contract_store.messages
    assert messages.set_flags(mailbox.id, [info.id], ["\\Seen", "\\Flagged"])[0].flags == {
        "\\Seen",
        "\\Flagged",
    }
    assert messages.set_flags(mailbox.id, [info.id], ["\\Seen"], "remove")[0].flags == {"\\Flagged"}
    assert messages.set_flags(mailbox.id, [info.id], [], "replace")[0].flags == set()
    assert messages.set_flags(mailbox.id, ["msg-unknown"], ["\\Seen"]) == []


def test_deleting_skips_ids_of_other_mailboxes(contract_store: Store, box) -> None:
    mailbox, _ = box
    other, _ = contract_store.mailboxes.create(DOMAIN, actor=None)
    theirs = deliver(contract_store, other.id, sample_message(1))
    assert contract_store.messages.delete(mailbox.id, [theirs.id, "msg-unknown"]) == 0
    assert [m.id for m in contract_store.messages.list(other.id)] == [theirs.id]


def test_a_full_mailbox_refuses_new_mail_with_QuotaExceeded(contract_store: Store, box) -> None:
    mailbox, _ = box
    contract_store.mailboxes.update(mailbox.id, quota=1)
    deliver(contract_store, mailbox.id, sample_message(1))
    with pytest.raises(QuotaExceeded):
        contract_store.messages.check_can_receive(mailbox.id, 10)


def test_received_since_counts_from_the_given_time(contract_store: Store, box) -> None:
    mailbox, _ = box
    info = deliver(contract_store, mailbox.id, sample_message(1))
    assert contract_store.messages.received_since(mailbox.id, info.received) == 1
    assert contract_store.messages.received_since(mailbox.id, info.received + 1) == 0


def test_a_commit_publishes_an_exists_event(contract_store: Store, box) -> None:
    mailbox, _ = box
    seen: list[tuple[str, str]] = []
    unsubscribe = contract_store.events.subscribe(mailbox.id, lambda m, e: seen.append((m, e)))
    deliver(contract_store, mailbox.id, sample_message(1))
    unsubscribe()
    deliver(contract_store, mailbox.id, sample_message(2))
    assert seen == [(mailbox.id, "exists")]


def test_change_seq_moves_with_each_delivery_flag_change_and_deletion(
    contract_store: Store, box
) -> None:
    mailbox, _ = box
    messages = contract_store.messages
    seen = [messages.change_seq(mailbox.id)]
    info = deliver(contract_store, mailbox.id, sample_message(1))
    seen.append(messages.change_seq(mailbox.id))
    messages.set_flags(mailbox.id, [info.id], ["\\Seen"], "add")
    seen.append(messages.change_seq(mailbox.id))
    messages.delete(mailbox.id, [info.id])
    seen.append(messages.change_seq(mailbox.id))
    assert seen == sorted(set(seen)), seen  # strictly growing


def test_change_seq_sees_changes_made_through_another_store_handle(
    contract_store: Store, sibling_store: Store, box
) -> None:
    mailbox, _ = box
    before = contract_store.messages.change_seq(mailbox.id)
    deliver(sibling_store, mailbox.id, sample_message(1))
    assert contract_store.messages.change_seq(mailbox.id) > before


def test_change_seq_is_per_mailbox_and_NotFound_once_deleted(contract_store: Store, box) -> None:
    mailbox, _ = box
    other, _ = contract_store.mailboxes.create(DOMAIN, actor=None)
    before = contract_store.messages.change_seq(other.id)
    deliver(contract_store, mailbox.id, sample_message(1))
    assert contract_store.messages.change_seq(other.id) == before
    contract_store.mailboxes.delete(other.id)
    with pytest.raises(NotFound):
        contract_store.messages.change_seq(other.id)
