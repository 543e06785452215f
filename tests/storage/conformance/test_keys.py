"""Promises of the Keyring area."""

from __future__ import annotations

import pytest

from storage import InvalidInput, Store, WrongPassphrase
from tests.support.mail import deliver, plaintext, sample_message

WRONG = "00000-00000-00000-00000-00000-00000"


def test_unlock_with_a_wrong_passphrase_raises_WrongPassphrase_and_changes_nothing(
    contract_store: Store, box
) -> None:
    mailbox, passphrase = box
    before = contract_store.keys.list_epochs(mailbox.id)
    for wrong in (WRONG, "not even a passphrase", ""):
        with pytest.raises(WrongPassphrase):
            contract_store.keys.unlock(mailbox.id, wrong)
    assert contract_store.keys.list_epochs(mailbox.id) == before
    assert contract_store.keys.unlock(mailbox.id, passphrase).mailbox_id == mailbox.id


def test_a_changed_passphrase_opens_every_epoch_and_the_old_one_none(
    contract_store: Store, box
) -> None:
    mailbox, passphrase = box
    message = deliver(contract_store, mailbox.id, sample_message(1))
    new = contract_store.keys.change_passphrase(mailbox.id, passphrase)
    with pytest.raises(WrongPassphrase):
        contract_store.keys.unlock(mailbox.id, passphrase)
    key = contract_store.keys.unlock(mailbox.id, new)
    assert plaintext(contract_store, key, message) == sample_message(1)


def test_a_reset_seals_old_mail_until_recovered(contract_store: Store, box) -> None:
    mailbox, old = box
    message = deliver(contract_store, mailbox.id, sample_message(1))
    new = contract_store.keys.reset_passphrase(mailbox.id)
    assert contract_store.keys.sealed_message_count(mailbox.id) == 1
    assert not contract_store.keys.unlock(mailbox.id, new).can_read(message.epoch)
    assert contract_store.keys.recover(mailbox.id, old, new) == 1
    assert contract_store.keys.unlock(mailbox.id, new).can_read(message.epoch)
    assert contract_store.keys.sealed_message_count(mailbox.id) == 0


def test_recover_with_a_wrong_old_passphrase_raises_and_changes_nothing(
    contract_store: Store, box
) -> None:
    mailbox, _ = box
    new = contract_store.keys.reset_passphrase(mailbox.id)
    with pytest.raises(WrongPassphrase):
        contract_store.keys.recover(mailbox.id, WRONG, new)
    assert [e.state for e in contract_store.keys.list_epochs(mailbox.id)] == ["sealed", "current"]


def test_purging_destroys_only_sealed_epochs_and_their_mail(contract_store: Store, box) -> None:
    mailbox, _ = box
    deliver(contract_store, mailbox.id, sample_message(1))
    new = contract_store.keys.reset_passphrase(mailbox.id)
    kept = deliver(contract_store, mailbox.id, sample_message(2))
    assert contract_store.keys.purge_sealed(mailbox.id) == 1
    assert [m.id for m in contract_store.messages.list(mailbox.id)] == [kept.id]
    assert contract_store.keys.unlock(mailbox.id, new).can_read(kept.epoch)


def test_the_exported_identity_names_every_epoch(contract_store: Store, box) -> None:
    mailbox, passphrase = box
    exported = contract_store.keys.export_identity(mailbox.id, passphrase)
    assert exported.startswith(f"# Journal Gateway mailbox {mailbox.id}\n")
    assert "AGE-SECRET-KEY-" in exported.upper()
    with pytest.raises(WrongPassphrase):
        contract_store.keys.export_identity(mailbox.id, WRONG)


def test_a_passphrase_shape_check_refuses_other_text(contract_store: Store) -> None:
    with pytest.raises(InvalidInput):
        contract_store.keys.check_passphrase_shape("hunter2")
