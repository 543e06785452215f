"""Promises of the Store as a whole (atomic) and of the Maintenance area."""

from __future__ import annotations

import pytest

from storage import NotFound, Store
from tests.support.mail import deliver, sample_message

from .conftest import DOMAIN


def test_atomic_rolls_back_every_write_on_error(contract_store: Store) -> None:
    with pytest.raises(NotFound):
        with contract_store.atomic():
            contract_store.domains.add(DOMAIN)
            contract_store.admins.create("alice")
            contract_store.audit.record("alice", "domain.add", DOMAIN)
            contract_store.domains.remove("other.test")  # NotFound
    assert contract_store.domains.list() == []
    assert contract_store.admins.list() == []
    assert contract_store.audit.list() == []


def test_atomic_commits_every_write_at_the_outermost_exit(contract_store: Store) -> None:
    with contract_store.atomic():
        contract_store.domains.add(DOMAIN)
        with contract_store.atomic():
            contract_store.audit.record("alice", "domain.add", DOMAIN)
        assert [d.name for d in contract_store.domains.list()] == [DOMAIN]
    assert len(contract_store.audit.list()) == 1


def test_a_store_is_writable_when_ready(contract_store: Store) -> None:
    contract_store.maintenance.check_writable()
    assert contract_store.maintenance.free_bytes() > 0
    assert contract_store.maintenance.loose_file_modes() == []


def test_reconcile_on_a_clean_store_changes_nothing(contract_store: Store, box) -> None:
    mailbox, _ = box
    deliver(contract_store, mailbox.id, sample_message(1))
    report = contract_store.maintenance.reconcile()
    assert (report.adopted, report.quarantined, report.missing_files) == ([], [], [])
    assert len(contract_store.messages.list(mailbox.id)) == 1


def test_stored_messages_name_every_message_with_its_hash(contract_store: Store, box) -> None:
    mailbox, _ = box
    info = deliver(contract_store, mailbox.id, sample_message(1))
    (row,) = list(contract_store.maintenance.stored_messages())
    assert (row.id, row.mailbox_id, row.path, row.sha256) == (
        info.id,
        mailbox.id,
        info.path,
        info.sha256,
    )
    assert contract_store.maintenance.is_indexed(info.id)
    assert contract_store.maintenance.path_is_indexed(info.path)
    assert list(contract_store.maintenance.stored_files()) == [info.path]


def test_counters_do_not_drift_through_delivery_and_deletion(contract_store: Store, box) -> None:
    mailbox, _ = box
    first = deliver(contract_store, mailbox.id, sample_message(1))
    deliver(contract_store, mailbox.id, sample_message(2))
    contract_store.messages.delete(mailbox.id, [first.id])
    assert contract_store.maintenance.counter_drift() == []
    assert contract_store.maintenance.repair_counters() == []


def test_seen_times_are_recorded_once(contract_store: Store, box) -> None:
    mailbox, _ = box
    info = deliver(contract_store, mailbox.id, sample_message(1))
    contract_store.maintenance.record_seen_times([info.id], 100.0)
    contract_store.maintenance.record_seen_times([info.id], 200.0)
    assert contract_store.maintenance.seen_times(mailbox.id) == {info.id: 100.0}
    (candidate,) = contract_store.maintenance.retention_candidates(mailbox.id)
    assert (candidate.message_id, candidate.seen_at) == (info.id, 100.0)


def test_files_of_a_deletion_go_only_once_it_commits(contract_store: Store, box) -> None:
    """DESIGN §3: the row, then the file. A deletion rolled back with the action around
    it leaves every message readable; one that commits leaves no file behind."""
    mailbox, passphrase = box
    deliver(contract_store, mailbox.id, sample_message(1))
    deliver(contract_store, mailbox.id, sample_message(2))
    first, second = contract_store.messages.list(mailbox.id)
    with pytest.raises(RuntimeError), contract_store.atomic():
        contract_store.messages.delete(mailbox.id, [first.id])
        contract_store.mailboxes.delete(mailbox.id, force=True)
        raise RuntimeError("the audit write failed")
    key = contract_store.keys.unlock(mailbox.id, passphrase)
    for message in contract_store.messages.list(mailbox.id):
        assert b"".join(contract_store.messages.read(key, message)).startswith(b"From:")
    with contract_store.atomic():
        contract_store.messages.delete(mailbox.id, [first.id])
    with pytest.raises(NotFound):
        contract_store.messages.get(mailbox.id, first.id)
    assert [m.id for m in contract_store.messages.list(mailbox.id)] == [second.id]
    assert contract_store.maintenance.reconcile().missing_files == []
