"""fsck: deleted files, orphans, flipped bytes, swapped files; --repair; no passphrase."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from storage.ids import new_message_id
from storage.maintenance import fsck
from tests.support.mail import deliver, message_bytes, plaintext

OLD = time.time() - 3600  # older than fsck's grace for orphans and temp files


@pytest.fixture
def two_boxes(store, mailbox):
    """Two mailboxes with five messages each; returns (first, passphrase, second)."""
    first, passphrase = mailbox
    second, _ = store.mailboxes.create("example.test", name="other", actor=None)
    for n in range(5):
        deliver(store, first.id, message_bytes(n, size=n * 40_000))
        deliver(store, second.id, message_bytes(100 + n))
    return first, passphrase, second


def _flip(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def _orphan(store, mailbox_id: str, content: bytes) -> str:
    relpath = store.blobs.relative_path(mailbox_id, OLD, new_message_id())
    path = store.blobs.path(relpath)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (OLD, OLD))
    return relpath


def test_a_clean_store_is_all_well(store, two_boxes):
    report = fsck(store)
    assert report.ok and report.checked == 10
    assert report.as_dict()["ok"] is True


def test_finds_a_deleted_file_an_orphan_a_flipped_byte_and_a_swap(store, two_boxes):
    first, _, second = two_boxes
    a = store.messages.list(first.id)
    b = store.messages.list(second.id)
    store.blobs.path(a[0].path).unlink()  # deleted file
    _flip(store.blobs.path(a[1].path), -20)  # flipped byte in the payload
    _flip(store.blobs.path(a[2].path), 30)  # flipped byte in the header
    # b[0]'s file replaced by a[3]'s, with the index checksum "fixed": only the bind
    # stanza can tell (wrong mailbox and wrong message)
    shutil.copyfile(store.blobs.path(a[3].path), store.blobs.path(b[0].path))
    with store.db.write() as conn:
        conn.execute("UPDATE messages SET sha256=? WHERE id=?", (a[3].sha256, b[0].id))
    orphan = _orphan(store, first.id, b"not an age file")

    report = fsck(store)
    assert not report.ok
    assert [(p.message_id, p.reason) for p in report.missing] == [(a[0].id, "file is missing")]
    damaged = {p.message_id: p.reason for p in report.damaged}
    assert damaged.keys() == {a[1].id, a[2].id, b[0].id}
    assert damaged[a[1].id] == "SHA-256 differs from the index"
    assert "bind stanza" in damaged[b[0].id]
    assert [p.path for p in report.orphans] == [orphan]
    assert not report.counters  # counters agree with the rows as they are


def test_a_fresh_file_without_a_row_may_be_a_delivery_in_flight(store, two_boxes):
    first, _, _ = two_boxes
    relpath = _orphan(store, first.id, b"x")
    os.utime(store.blobs.path(relpath))  # just now
    assert fsck(store).ok
    assert fsck(store, grace=0, now=time.time() + 1).orphans


def test_repair_quarantines_adopts_and_fixes_counters(store, two_boxes):
    first, passphrase, second = two_boxes
    a = store.messages.list(first.id)
    store.blobs.path(a[0].path).unlink()
    _flip(store.blobs.path(a[1].path), -20)
    # a valid file whose commit never happened (crash between rename and commit)
    with store.db.write() as conn:
        conn.execute("DELETE FROM messages WHERE id=?", (a[2].id,))
    os.utime(store.blobs.path(a[2].path), (OLD, OLD))
    junk = _orphan(store, second.id, b"junk")
    with store.db.write() as conn:  # counters that drifted
        conn.execute("UPDATE mailboxes SET stored_bytes=stored_bytes+7 WHERE id=?", (second.id,))
    (store.blobs.tmp / "LEFTOVER.part").write_bytes(b"partial")
    os.utime(store.blobs.tmp / "LEFTOVER.part", (OLD, OLD))

    report = fsck(store, repair=True)
    assert not report.ok and report.repaired
    assert report.adopted == [a[2].path]
    assert sorted(report.rows_removed) == sorted([a[0].id, a[1].id])
    quarantine = {p.name for p in store.blobs.quarantine_dir.iterdir()}
    assert quarantine == {a[1].path.replace("/", "_"), junk.replace("/", "_")}
    fixed = {(c.mailbox_id, c.field) for c in report.counters}
    assert (second.id, "stored_bytes") in fixed
    assert (first.id, "message_count") in fixed  # a[2]'s row deleted behind the counter's back
    assert not (store.blobs.tmp / "LEFTOVER.part").exists()

    assert fsck(store).ok
    box = store.mailboxes.get(first.id)
    messages = store.messages.list(first.id)
    assert box.messages == len(messages) == 3
    assert box.bytes == sum(m.stored_size for m in messages)
    key = store.keys.unlock(first.id, passphrase)
    adopted = next(m for m in messages if m.id == a[2].id)
    assert plaintext(store, key, adopted) == message_bytes(2, size=80_000)
    actions = {e.action for e in store.audit.list(actor="fsck")}
    assert {"fsck.quarantine", "fsck.remove-row", "fsck.adopt", "fsck.fix-counter"} <= actions
