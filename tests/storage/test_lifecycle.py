"""The passphrase lifecycle (DESIGN §2): change, reset, recover, purge, export identity."""

from __future__ import annotations

import pytest

from storage import MessageDamaged, NotFound, WrongPassphrase, open_store
from storage.age import AgeReader, HybridIdentity, X25519Identity, parse_identity
from tests.support.argon import FAST_KDF

from .helpers import blob_files, deliver, read_all, read_until_failure


def mail(n: int) -> bytes:
    return f"Subject: message {n}\r\n\r\nbody {n}\r\n".encode()


def epoch_states(store, mailbox_id: str) -> list[tuple[int, str, int]]:
    return [(e.number, e.state, e.messages) for e in store.keys.list_epochs(mailbox_id)]


def assert_all_read(store, passphrase: str, mailbox_id: str) -> None:
    key = store.keys.unlock(mailbox_id, passphrase)
    for info in store.messages.list(mailbox_id):
        assert read_all(store, key, info) == mail(info.uid), info


def test_change_keeps_all_mail_readable_and_retires_the_old_passphrase(store, mailbox) -> None:
    box, old = mailbox
    for n in (1, 2):
        deliver(store, box.id, mail(n))
    before = store.keys.current_epoch(box.id)
    new = store.keys.change_passphrase(box.id, old)
    assert new != old
    with pytest.raises(WrongPassphrase):
        store.keys.unlock(box.id, old)
    assert_all_read(store, new, box.id)
    deliver(store, box.id, mail(3))
    assert_all_read(store, new, box.id)
    after = store.keys.current_epoch(box.id)
    # Same epoch, same key, sealed afresh (new salt and nonce).
    assert (after.epoch, after.recipient) == (before.epoch, before.recipient)
    assert after.salt != before.salt and after.nonce != before.nonce
    assert after.ciphertext != before.ciphertext
    assert epoch_states(store, box.id) == [(1, "current", 3)]
    assert store.keys.sealed_message_count(box.id) == 0


def test_change_with_a_wrong_passphrase_changes_nothing(store, mailbox) -> None:
    box, passphrase = mailbox
    before = store.keys.current_epoch(box.id)
    with pytest.raises(WrongPassphrase):
        store.keys.change_passphrase(box.id, "00000-00000-00000-00000-00000-00000")
    assert store.keys.current_epoch(box.id) == before
    assert store.keys.unlock(box.id, passphrase).can_read(1)


def test_reset_seals_older_mail_and_recover_opens_it(store, mailbox) -> None:
    box, first = mailbox
    old = [deliver(store, box.id, mail(n)) for n in (1, 2)]
    second = store.keys.reset_passphrase(box.id)
    new = deliver(store, box.id, mail(3))
    assert [m.epoch for m in old] + [new.epoch] == [1, 1, 2]

    assert store.keys.sealed_message_count(box.id) == 2
    assert epoch_states(store, box.id) == [(1, "sealed", 2), (2, "current", 1)]
    with pytest.raises(WrongPassphrase):
        store.keys.unlock(box.id, first)  # the old passphrase no longer opens the mailbox
    key = store.keys.unlock(box.id, second)
    assert not key.can_read(1) and key.can_read(2)
    for info in old:
        released, error = read_until_failure(store, key, info)
        assert released == b"" and isinstance(error, MessageDamaged)
        assert "sealed" in str(error)
    assert read_all(store, key, new) == mail(3)

    with pytest.raises(WrongPassphrase):
        store.keys.recover(box.id, "00000-00000-00000-00000-00000-00000", second)
    with pytest.raises(WrongPassphrase):
        store.keys.recover(box.id, first, first)  # the current passphrase must be right too
    assert store.keys.recover(box.id, first, second) == 1
    assert store.keys.sealed_message_count(box.id) == 0
    assert epoch_states(store, box.id) == [(1, "current", 2), (2, "current", 1)]
    assert_all_read(store, second, box.id)
    with pytest.raises(WrongPassphrase):
        store.keys.unlock(box.id, first)
    with pytest.raises(WrongPassphrase):  # nothing sealed is left to recover
        store.keys.recover(box.id, first, second)


def test_two_resets_recover_one_epoch_at_a_time_then_change(store, mailbox) -> None:
    box, p1 = mailbox
    deliver(store, box.id, mail(1))
    p2 = store.keys.reset_passphrase(box.id)
    deliver(store, box.id, mail(2))
    p3 = store.keys.reset_passphrase(box.id)
    deliver(store, box.id, mail(3))
    assert store.keys.sealed_message_count(box.id) == 2
    assert store.keys.recover(box.id, p1, p3) == 1
    assert epoch_states(store, box.id) == [(1, "current", 1), (2, "sealed", 1), (3, "current", 1)]
    assert store.keys.sealed_message_count(box.id) == 1
    assert store.keys.recover(box.id, p2, p3) == 1
    assert_all_read(store, p3, box.id)
    # A change afterwards re-seals all three epochs under one new passphrase.
    p4 = store.keys.change_passphrase(box.id, p3)
    key = store.keys.unlock(box.id, p4)
    assert all(key.can_read(e) for e in (1, 2, 3))
    assert_all_read(store, p4, box.id)
    for old in (p1, p2, p3):
        with pytest.raises(WrongPassphrase):
            store.keys.unlock(box.id, old)


def test_change_after_reset_leaves_sealed_epochs_sealed_but_recoverable(store, mailbox) -> None:
    box, p1 = mailbox
    deliver(store, box.id, mail(1))
    p2 = store.keys.reset_passphrase(box.id)
    p3 = store.keys.change_passphrase(box.id, p2)
    assert epoch_states(store, box.id) == [(1, "sealed", 1), (2, "current", 0)]
    assert store.keys.recover(box.id, p1, p3) == 1
    assert_all_read(store, p3, box.id)


def test_purge_destroys_sealed_epochs_and_their_files(store, mailbox, data_dir) -> None:
    box, first = mailbox
    old = [deliver(store, box.id, mail(n)) for n in (1, 2)]
    second = store.keys.reset_passphrase(box.id)
    new = deliver(store, box.id, mail(3))
    assert len(blob_files(data_dir)) == 3
    assert store.keys.purge_sealed(box.id) == 2
    assert [p.name for p in blob_files(data_dir)] == [f"{new.id}.age"]
    assert [m.id for m in store.messages.list(box.id)] == [new.id]
    for info in old:
        with pytest.raises(NotFound):
            store.messages.get(box.id, info.id)
    assert epoch_states(store, box.id) == [(2, "current", 1)]
    assert store.keys.sealed_message_count(box.id) == 0
    box_now = store.mailboxes.get(box.id)
    assert (box_now.messages, box_now.bytes) == (1, new.stored_size)
    with pytest.raises(WrongPassphrase):  # the old key is gone: recovery is impossible
        store.keys.recover(box.id, first, second)
    assert_all_read(store, second, box.id)
    assert store.keys.purge_sealed(box.id) == 0


@pytest.mark.parametrize(
    ("kind", "identity_type", "prefix"),
    [
        ("mlkem768x25519", HybridIdentity, "AGE-SECRET-KEY-PQ-1"),
        ("x25519", X25519Identity, "AGE-SECRET-KEY-1"),
    ],
)
def test_export_identity_parses_for_each_epoch(tmp_path, kind, identity_type, prefix) -> None:
    store = open_store(tmp_path / "data", kdf=FAST_KDF, recipient_type=kind)
    try:
        store.domains.add("example.test")
        box, first = store.mailboxes.create("example.test", actor=None)
        messages = [deliver(store, box.id, mail(1))]
        second = store.keys.reset_passphrase(box.id)
        messages.append(deliver(store, box.id, mail(2)))

        # While epoch 1 is sealed, its identity cannot be exported.
        text = store.keys.export_identity(box.id, second)
        assert "# epoch 1: sealed under another passphrase" in text
        assert [line[: len(prefix)] for line in text.splitlines() if line[0] != "#"] == [prefix]
        with pytest.raises(WrongPassphrase):
            store.keys.export_identity(box.id, first)

        store.keys.recover(box.id, first, second)
        text = store.keys.export_identity(box.id, second)
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        epochs = store.keys.list_epochs(box.id)
        assert len(lines) == len(epochs) == 2
        for line, epoch, info in zip(lines, epochs, messages, strict=True):
            assert line.startswith(prefix)
            identity = parse_identity(line)
            assert isinstance(identity, identity_type)
            assert identity.recipient().encode() == epoch.recipient
            assert f"# recipient: {epoch.recipient}" in text
            # The identity alone opens the stored file (the bind stanza is ignored).
            reader = AgeReader([identity])
            raw = (store.data_dir / info.path).read_bytes()
            assert reader.update(raw) + reader.finish()
    finally:
        store.close()
