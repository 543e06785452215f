"""The Robots area (storage/contract/robots.py) and hand_over_addresses, per store."""

from __future__ import annotations

import pytest

from storage import Store
from storage.errors import NotFound
from storage.robot_rules import check_robot

DAY = 86400.0


def test_set_get_replace_and_clear(contract_store: Store, box):
    mailbox, _ = box
    robots = contract_store.robots
    assert robots.get(mailbox.id) is None
    robots.set(mailbox.id, check_robot("Received", "Thank you.", copy_to="Desk@Example.org"))
    robot = robots.get(mailbox.id)
    assert robot is not None
    assert (robot.subject, robot.text, robot.copy_to, robot.interval_days) == (
        "Received",
        "Thank you.",
        "desk@example.org",
        7,
    )
    robots.set(mailbox.id, check_robot("Away", "Back soon.", 10.0, 20.0, interval_days=3))
    robot = robots.get(mailbox.id)
    assert robot is not None and (robot.subject, robot.starts, robot.ends) == ("Away", 10.0, 20.0)
    assert robots.clear(mailbox.id) is True
    assert robots.get(mailbox.id) is None
    assert robots.clear(mailbox.id) is False


def test_set_for_an_unknown_mailbox_is_not_found(contract_store: Store, box):
    with pytest.raises(NotFound):
        contract_store.robots.set("mbx-nothere", check_robot("S", "T"))


def test_claim_reply_answers_each_sender_once_per_interval(contract_store: Store, box):
    mailbox, _ = box
    robots, now = contract_store.robots, 1_800_000_000.0
    assert robots.claim_reply(mailbox.id, "a@example.org", now, 7 * DAY) is True
    assert robots.claim_reply(mailbox.id, "A@Example.org", now + DAY, 7 * DAY) is False
    assert robots.claim_reply(mailbox.id, "b@example.org", now + DAY, 7 * DAY) is True
    assert robots.claim_reply(mailbox.id, "a@example.org", now + 7 * DAY, 7 * DAY) is True


def test_a_released_claim_lets_the_next_message_be_answered(contract_store: Store, box):
    mailbox, _ = box
    robots, now = contract_store.robots, 1_800_000_000.0
    assert robots.claim_reply(mailbox.id, "a@example.org", now, 7 * DAY) is True
    robots.release_reply(mailbox.id, "a@example.org", now - 1)  # not that claim: kept
    assert robots.claim_reply(mailbox.id, "a@example.org", now + 1, 7 * DAY) is False
    robots.release_reply(mailbox.id, "a@example.org", now)
    assert robots.claim_reply(mailbox.id, "a@example.org", now + 2, 7 * DAY) is True


def test_a_deleted_mailbox_takes_its_robot_with_it(contract_store: Store, box):
    mailbox, _ = box
    contract_store.robots.set(mailbox.id, check_robot("S", "T"))
    contract_store.robots.claim_reply(mailbox.id, "a@example.org", 1.0, DAY)
    contract_store.mailboxes.delete(mailbox.id)
    assert contract_store.robots.get(mailbox.id) is None


def test_hand_over_addresses_moves_every_address_as_an_alias(contract_store: Store, box):
    old, _ = box
    new, _ = contract_store.mailboxes.create("example.test", name="New", actor=None)
    moved = contract_store.mailboxes.hand_over_addresses(old.id, new.address)
    assert moved == list(old.addresses)
    after = contract_store.mailboxes.get(new.id)
    assert after.address == new.address
    assert set(after.aliases) == set(old.addresses)
    assert contract_store.mailboxes.get(old.id).addresses == ()
    with pytest.raises(NotFound):
        contract_store.mailboxes.hand_over_addresses("mbx-nothere", new.id)
