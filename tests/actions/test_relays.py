"""The relay-target actions: the passphrase is proved by a real unlock before any
target is added or changed, for every role; removal needs admin rights only."""

from __future__ import annotations

import pytest

from storage import actions
from storage.errors import Forbidden, InvalidInput, OutOfScope, WrongPassphrase
from tests.actions.test_actions import OPERATOR, as_admin, entries


@pytest.fixture
def box(env, domains):
    return env.store.mailboxes.create("alpha.test", name="Acme", actor=None)


@pytest.mark.parametrize("role", ["superadmin", "domain-admin", "operator"])
def test_without_the_passphrase_no_admin_can_add_a_target(env, box, role):
    mailbox, passphrase = box
    who = OPERATOR if role == "operator" else as_admin(env.store, "eve", role, ["alpha.test"])
    for wrong in ("", "guess", passphrase + "x"):
        with pytest.raises(WrongPassphrase):
            actions.add_relay_target(
                env.store, who, actions.AddRelayTarget(mailbox.id, "eve@evil.example", wrong)
            )
    assert env.store.relays.list(mailbox.id) == []
    refused = [e for e in entries(env.store) if e[1] == "mailbox.relay-add-refused"]
    assert len(refused) == 3 and all(passphrase not in str(e) for e in refused)


def test_without_the_passphrase_a_policy_change_is_refused_too(env, box):
    mailbox, passphrase = box
    request = actions.AddRelayTarget(mailbox.id, "archive@second.example", passphrase)
    actions.add_relay_target(env.store, OPERATOR, request)
    change = actions.AddRelayTarget(mailbox.id, "archive@second.example", "wrong", "best-effort")
    with pytest.raises(WrongPassphrase):
        actions.add_relay_target(env.store, OPERATOR, change)
    assert [t.policy for t in env.store.relays.list(mailbox.id)] == ["required"]


def test_with_the_passphrase_add_change_and_remove_are_audited(env, box):
    mailbox, passphrase = box
    kim = as_admin(env.store, "kim", "domain-admin", ["alpha.test"])
    add = actions.AddRelayTarget(mailbox.id, "Archive@Second.example", passphrase)
    assert actions.add_relay_target(env.store, kim, add).created
    change = actions.AddRelayTarget(mailbox.id, "archive@second.example", passphrase, "best-effort")
    assert not actions.add_relay_target(env.store, kim, change).created
    remove = actions.RemoveRelayTarget(mailbox.id, "archive@second.example")
    actions.remove_relay_target(env.store, kim, remove)
    assert entries(env.store) == [
        ("kim", "mailbox.relay-add", mailbox.id, "archive@second.example policy=required"),
        ("kim", "mailbox.relay-change", mailbox.id, "archive@second.example policy=best-effort"),
        ("kim", "mailbox.relay-remove", mailbox.id, "archive@second.example"),
    ]
    assert all(passphrase not in str(e) for e in entries(env.store))


@pytest.mark.parametrize("address", ["other@alpha.test", "x@BETA.test"])
def test_our_own_addresses_are_refused_as_targets(env, box, address):
    mailbox, passphrase = box
    with pytest.raises(InvalidInput, match="would loop"):
        actions.add_relay_target(
            env.store, OPERATOR, actions.AddRelayTarget(mailbox.id, address, passphrase)
        )
    assert env.store.relays.list(mailbox.id) == []
    assert entries(env.store) == []


@pytest.mark.parametrize(
    ("role", "scope", "refusal"),
    [("viewer", ("alpha.test",), Forbidden), ("domain-admin", ("beta.test",), OutOfScope)],
)
def test_viewers_and_other_domains_can_neither_add_nor_remove(env, box, role, scope, refusal):
    mailbox, passphrase = box
    env.store.relays.put(mailbox.id, "archive@second.example", "required", "root")
    who = as_admin(env.store, "someone", role, scope)
    with pytest.raises(refusal):
        actions.add_relay_target(
            env.store, who, actions.AddRelayTarget(mailbox.id, "x@second.example", passphrase)
        )
    with pytest.raises(refusal):
        actions.remove_relay_target(
            env.store, who, actions.RemoveRelayTarget(mailbox.id, "archive@second.example")
        )
    assert [t.address for t in env.store.relays.list(mailbox.id)] == ["archive@second.example"]
    assert entries(env.store) == []


def test_the_passphrase_is_never_in_the_request_repr(box):
    mailbox, passphrase = box
    request = actions.AddRelayTarget(mailbox.id, "a@second.example", passphrase)
    assert passphrase not in repr(request)
