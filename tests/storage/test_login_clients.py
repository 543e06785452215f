"""Known-good login clients: the addresses a mailbox was opened from, kept in the index.

The login scheduler serves them ahead of strangers (gateway/login.py); here the record
itself: written by record_login, bounded, durable across store instances, forgotten
with the mailbox and when its passphrase is reset, never across mailboxes.
"""

from __future__ import annotations

import time

from storage import open_store
from storage.sqlite.login_clients import KNOWN_LOGIN_CLIENTS
from tests.support.argon import FAST_KDF


def test_a_login_remembers_its_address_and_the_time(store, mailbox) -> None:
    box, _ = mailbox
    assert store.login_clients.known(box.id) == []
    before = time.time()
    store.login_clients.record(box.id, "192.0.2.7")
    assert store.login_clients.known(box.id) == ["192.0.2.7"]
    assert store.login_clients.is_known(box.id, "192.0.2.7")
    assert not store.login_clients.is_known(box.id, "192.0.2.8")
    assert store.mailboxes.get(box.id).last_login >= before


def test_the_record_is_durable_across_store_instances(store, mailbox, data_dir) -> None:
    box, _ = mailbox
    store.login_clients.record(box.id, "2001:db8::1")
    store.close()
    reopened = open_store(data_dir, kdf=FAST_KDF)
    try:
        assert reopened.login_clients.is_known(box.id, "2001:db8::1")
    finally:
        reopened.close()


def test_only_the_most_recent_addresses_are_kept(store, mailbox) -> None:
    box, _ = mailbox
    addresses = [f"198.51.100.{n}" for n in range(1, KNOWN_LOGIN_CLIENTS + 6)]
    for address in addresses:
        store.login_clients.record(box.id, address)
    store.login_clients.record(box.id, addresses[0])  # logged in again: the most recent now
    known = store.login_clients.known(box.id)
    assert len(known) == KNOWN_LOGIN_CLIENTS
    assert known[0] == addresses[0]
    assert set(known) == {addresses[0], *addresses[-(KNOWN_LOGIN_CLIENTS - 1) :]}


def test_known_for_one_mailbox_is_not_known_for_another(store, mailbox) -> None:
    box, _ = mailbox
    store.login_clients.record(box.id, "192.0.2.7")
    other = "mbx-" + "0" * 20  # any other id: the record is per mailbox
    assert not store.login_clients.is_known(other, "192.0.2.7")
    assert store.login_clients.known(other) == []
    assert not store.login_clients.is_known("", "192.0.2.7")  # an unknown login name


def test_a_reset_passphrase_forgets_the_clients_a_change_keeps_them(store, mailbox) -> None:
    box, passphrase = mailbox
    store.login_clients.record(box.id, "192.0.2.7")
    store.keys.change_passphrase(box.id, passphrase)  # whoever changed it knew the passphrase
    assert store.login_clients.known(box.id) == ["192.0.2.7"]
    store.keys.reset_passphrase(box.id)  # lost passphrase: its old clients are strangers now
    assert store.login_clients.known(box.id) == []


def test_deleting_the_mailbox_forgets_its_clients(store, mailbox) -> None:
    box, _ = mailbox
    store.login_clients.record(box.id, "192.0.2.7")
    store.mailboxes.delete(box.id)
    rows = store.db.conn().execute("SELECT count(*) FROM login_clients").fetchone()[0]
    assert rows == 0


def test_a_login_recorded_for_a_mailbox_deleted_meanwhile_is_dropped(store, mailbox) -> None:
    box, _ = mailbox
    store.mailboxes.delete(box.id)
    store.login_clients.record(box.id, "192.0.2.7")  # raced with the deletion: no error, no row
    assert store.login_clients.known(box.id) == []
