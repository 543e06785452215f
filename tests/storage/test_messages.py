"""Messages after delivery: listing, UIDs, flags, deletion (row first, then file), events."""

from __future__ import annotations

import threading

import pytest

from storage import MessageDamaged, NotFound

from .helpers import blob_files, deliver, read_all, read_until_failure


def test_listing_uids_and_uidnext(store, mailbox) -> None:
    box, _ = mailbox
    assert store.messages.next_uid(box.id) == 1
    infos = [deliver(store, box.id, f"Subject: {n}\r\n\r\n".encode()) for n in range(4)]
    assert [m.uid for m in infos] == [1, 2, 3, 4]
    assert store.messages.list(box.id) == infos
    assert store.messages.next_uid(box.id) == 5
    store.messages.delete(box.id, [infos[-1].id])
    assert store.messages.next_uid(box.id) == 5  # UIDs are never reused
    assert deliver(store, box.id, b"Subject: 5\r\n\r\n").uid == 5
    with pytest.raises(NotFound):
        store.messages.next_uid("mbx-00000000000000000000")


def test_messages_of_one_mailbox_only(store, domain) -> None:
    one, _ = store.mailboxes.create(domain, actor=None)
    two, two_passphrase = store.mailboxes.create(domain, actor=None)
    mine = deliver(store, one.id, b"Subject: one\r\n\r\n")
    deliver(store, two.id, b"Subject: two\r\n\r\n")
    assert [m.id for m in store.messages.list(one.id)] == [mine.id]
    with pytest.raises(NotFound):
        store.messages.get(two.id, mine.id)
    # A key unlocked for one mailbox is refused for another mailbox's message.
    key_two = store.keys.unlock(two.id, two_passphrase)
    with pytest.raises(MessageDamaged):
        read_all(store, key_two, mine)


def test_flags(store, mailbox) -> None:
    box, _ = mailbox
    a = deliver(store, box.id, b"Subject: a\r\n\r\n")
    b = deliver(store, box.id, b"Subject: b\r\n\r\n")
    changed = store.messages.set_flags(box.id, [a.id, b.id], ["\\Seen"])
    assert [m.flags for m in changed] == [frozenset({"\\Seen"})] * 2
    store.messages.set_flags(box.id, [a.id], ["\\Flagged", "\\Deleted"], mode="add")
    assert store.messages.get(box.id, a.id).flags == {"\\Seen", "\\Flagged", "\\Deleted"}
    store.messages.set_flags(box.id, [a.id], ["\\Deleted"], mode="remove")
    assert store.messages.get(box.id, a.id).flags == {"\\Seen", "\\Flagged"}
    store.messages.set_flags(box.id, [a.id], ["\\Answered"], mode="replace")
    assert store.messages.get(box.id, a.id).flags == {"\\Answered"}
    assert store.messages.get(box.id, b.id).flags == {"\\Seen"}
    assert store.messages.set_flags(box.id, ["0" * 26], ["\\Seen"]) == []


def test_delete_removes_rows_then_files(store, mailbox, data_dir) -> None:
    box, passphrase = mailbox
    infos = [deliver(store, box.id, f"Subject: {n}\r\n\r\n".encode()) for n in range(3)]
    assert len(blob_files(data_dir)) == 3
    assert store.messages.delete(box.id, [infos[0].id, infos[2].id, "0" * 26]) == 2
    assert [m.id for m in store.messages.list(box.id)] == [infos[1].id]
    assert [p.stem for p in blob_files(data_dir)] == [infos[1].id]
    now = store.mailboxes.get(box.id)
    assert (now.messages, now.bytes) == (1, infos[1].stored_size)
    # A deleted message's stale MessageInfo no longer reads.
    key = store.keys.unlock(box.id, passphrase)
    released, error = read_until_failure(store, key, infos[0])
    assert released == b"" and isinstance(error, MessageDamaged)
    assert store.messages.delete(box.id, [infos[0].id]) == 0


def test_missing_file_is_reported_as_damage(store, mailbox, data_dir) -> None:
    box, passphrase = mailbox
    info = deliver(store, box.id, b"Subject: gone\r\n\r\n")
    (data_dir / info.path).unlink()
    key = store.keys.unlock(box.id, passphrase)
    with pytest.raises(MessageDamaged):
        read_all(store, key, info)


def test_events_follow_commits(store, mailbox) -> None:
    box, _ = mailbox
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def listener(mailbox_id: str, event: str) -> None:
        with lock:
            seen.append((mailbox_id, event))

    unsubscribe = store.events.subscribe(box.id, listener)
    info = deliver(store, box.id, b"Subject: e\r\n\r\n")
    store.messages.set_flags(box.id, [info.id], ["\\Seen"])
    store.messages.delete(box.id, [info.id])
    unsubscribe()
    deliver(store, box.id, b"Subject: unheard\r\n\r\n")
    assert seen == [(box.id, "exists"), (box.id, "flags"), (box.id, "expunge")]
