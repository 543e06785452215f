"""Promises of the Domains and Mailboxes areas."""

from __future__ import annotations

import pytest

from storage import (
    AlreadyExists,
    DomainInUse,
    InvalidInput,
    Mailbox,
    NotEmpty,
    NotFound,
    Store,
)
from tests.support.mail import deliver, sample_message

from .conftest import DOMAIN


def test_an_added_domain_is_listed_normalized(contract_store: Store) -> None:
    contract_store.domains.add("Example.TEST.")
    assert [d.name for d in contract_store.domains.list()] == ["example.test"]
    assert contract_store.domains.get("EXAMPLE.test").name == "example.test"


def test_adding_a_domain_twice_raises_AlreadyExists(contract_store: Store) -> None:
    contract_store.domains.add(DOMAIN)
    with pytest.raises(AlreadyExists):
        contract_store.domains.add(DOMAIN)


def test_a_domain_in_use_cannot_be_removed(contract_store: Store, box) -> None:
    with pytest.raises(DomainInUse):
        contract_store.domains.remove(DOMAIN)
    assert contract_store.domains.get(DOMAIN).mailboxes == 1


def test_a_mailbox_is_found_by_id_and_by_every_address(contract_store: Store, box) -> None:
    mailbox, _ = box
    for ref in (mailbox.id, mailbox.address, "JOURNAL@example.test", f"<{mailbox.address}>"):
        assert contract_store.mailboxes.get(ref).id == mailbox.id
    assert contract_store.mailboxes.find("nobody@example.test") is None
    with pytest.raises(NotFound):
        contract_store.mailboxes.get("nobody@example.test")


def test_creating_a_mailbox_with_a_taken_alias_creates_nothing(contract_store: Store, box) -> None:
    with pytest.raises(AlreadyExists):
        contract_store.mailboxes.create(DOMAIN, aliases=[f"journal@{DOMAIN}"], actor=None)
    assert len(contract_store.mailboxes.list()) == 1


def test_a_bad_update_raises_InvalidInput_and_changes_nothing(contract_store: Store, box) -> None:
    mailbox, _ = box
    with pytest.raises(InvalidInput):
        contract_store.mailboxes.update(mailbox.id, name="New", quota=-1)
    assert contract_store.mailboxes.get(mailbox.id).name == "Acme"


def test_a_settings_update_keeps_the_other_keys(contract_store: Store, box) -> None:
    mailbox, _ = box
    contract_store.mailboxes.update(mailbox.id, settings={"a": 1, "b": 2})
    updated = contract_store.mailboxes.update(mailbox.id, settings_update={"a": None, "c": 3})
    assert updated.settings == {"b": 2, "c": 3}


def test_removing_an_alias_never_removes_the_primary_address(contract_store: Store, box) -> None:
    mailbox, _ = box
    with pytest.raises(NotFound):
        contract_store.mailboxes.remove_alias(mailbox.id, mailbox.address)
    after = contract_store.mailboxes.remove_alias(mailbox.id, f"journal@{DOMAIN}")
    assert after.aliases == () and after.address == mailbox.address


def test_deleting_a_mailbox_that_holds_mail_needs_force(contract_store: Store, box) -> None:
    mailbox, _ = box
    deliver(contract_store, mailbox.id, sample_message(1))
    with pytest.raises(NotEmpty):
        contract_store.mailboxes.delete(mailbox.id)
    assert contract_store.mailboxes.delete(mailbox.id, force=True) == 1
    assert contract_store.mailboxes.find(mailbox.id) is None


def test_deleting_a_mailbox_frees_its_addresses(contract_store: Store, box) -> None:
    mailbox, _ = box
    contract_store.mailboxes.delete(mailbox.id)
    other, _ = contract_store.mailboxes.create(DOMAIN, aliases=[f"journal@{DOMAIN}"], actor=None)
    assert isinstance(other, Mailbox)
    assert contract_store.mailboxes.get(f"journal@{DOMAIN}").id == other.id
    contract_store.mailboxes.delete(other.id)
    contract_store.domains.remove(DOMAIN)
    assert contract_store.domains.list() == []
