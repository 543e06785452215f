"""Keyring.key_state: the unlock cache's version of a mailbox, seen by every store handle.

Every act that could make a full unlock or a login answer differently must change it;
reads (and a login) must not, or the cache would never hit. A status that returns to
its old value may give the old state back: the cached key is then right again, and a
login while the status was different dropped the entry anyway.
"""

from __future__ import annotations

from storage import open_store
from tests.support.argon import FAST_KDF

from .helpers import deliver


def test_every_lifecycle_act_changes_the_key_state_reads_do_not(store, mailbox, data_dir) -> None:
    box, first = mailbox
    other = open_store(data_dir, kdf=FAST_KDF)  # another process's view
    try:
        seen = [other.keys.key_state(box.id)]

        def changed() -> bool:
            state = other.keys.key_state(box.id)
            fresh = state != seen[-1]
            seen.append(state)
            return fresh

        store.keys.unlock(box.id, first)
        store.messages.list(box.id)
        assert not changed()
        deliver(store, box.id, b"Subject: x\r\n\r\nbody\r\n")
        assert not changed()  # new mail does not touch the key
        second = store.keys.change_passphrase(box.id, first)
        assert changed()
        third = store.keys.reset_passphrase(box.id)
        assert changed()
        assert store.keys.recover(box.id, second, third) == 1
        assert changed()
        fourth = store.keys.reset_passphrase(box.id)
        assert changed()
        store.keys.purge_sealed(box.id)
        assert changed()
        store.keys.unlock(box.id, fourth)
        for update in (
            {"status": "disabled"},
            {"status": "active"},
            {"protocols": ["imap"]},
            {"allowed_networks": ["10.0.0.0/8"]},
            {"settings_update": {"note": 1}},
        ):
            store.mailboxes.update(box.id, **update)
            assert changed(), update
        store.mailboxes.delete(box.id, force=True)
        assert other.keys.key_state(box.id) == ""
    finally:
        other.close()
