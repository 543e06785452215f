"""Message files as S3 objects (storage/s3/blobs.py) under the SQLite index, on SeaweedFS."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from storage import AlreadyExists, open_store
from storage.ids import new_message_id
from storage.maintenance import fsck
from storage.s3.chunks import ChunkBody
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF
from tests.support.mail import deliver, plaintext
from tests.support.seaweed import S3Target, SeaweedS3, s3_blobs

pytestmark = pytest.mark.external
MIB = 1024 * 1024
GRACE = 2.0  # the test's orphan and temp grace, instead of an SMTP transaction's hour


def open_s3_store(target: S3Target, data_dir: Path, **graces: float):
    blobs = s3_blobs(target, data_dir, **graces)
    return open_store(
        data_dir,
        kdf=FAST_KDF,
        sealer=default_sealer(data_dir),
        disk_reserve=0,
        compress=False,  # what reaches the object store is the ciphertext of the plain text
        blobs=blobs,
    )


@pytest.fixture
def s3_store(s3_target: S3Target, tmp_path: Path):
    store = open_s3_store(s3_target, tmp_path / "data", temp_grace=GRACE, orphan_grace=GRACE)
    yield store
    store.close()


@pytest.fixture
def box(s3_store):
    s3_store.domains.add("example.test")
    return s3_store.mailboxes.create("example.test", name="Acme", actor=None)


def keys_in(store, prefix: str = "") -> list[str]:
    return list(store.blobs.objects.list(prefix))


def pending(store) -> list[str]:
    return [upload.key for upload in store.blobs.objects.pending_uploads()]


def message(size: int, canary: bytes = b"") -> bytes:
    head = b"From: a@example.org\r\nSubject: s3 " + canary + b"\r\n\r\n" + canary + b"\r\n"
    body = os.urandom(max(0, size - len(head)))
    return head + body


def test_a_delivery_streams_into_an_upload_and_is_listed_only_after_commit(s3_store, box):
    mailbox, passphrase = box
    raw = message(20 * MIB)
    delivery = s3_store.messages.begin_delivery(mailbox.id)
    for start in range(0, len(raw), 64 * 1024):
        delivery.write(raw[start : start + 64 * 1024])
    # Parts went up as the bytes came: an unfinished upload, no object, no row.
    assert pending(s3_store) == [delivery.path]
    assert keys_in(s3_store, "blobs/") == []
    assert s3_store.messages.list(mailbox.id) == []
    (info,) = s3_store.messages.commit_deliveries([delivery])
    assert pending(s3_store) == []
    assert keys_in(s3_store, "blobs/") == [info.path]
    assert list(s3_store.maintenance.stored_files()) == [info.path]
    with s3_store.blobs.open(info.path) as fh:
        stored = fh.read()
    assert (len(stored), hashlib.sha256(stored).hexdigest()) == (info.stored_size, info.sha256)
    key = s3_store.keys.unlock(mailbox.id, passphrase)
    assert plaintext(s3_store, key, info) == raw
    assert not list((s3_store.maintenance.data_dir / "blobs").rglob("*.age"))


def test_an_aborted_delivery_leaves_no_object_and_no_upload(s3_store, box):
    mailbox, _ = box
    big = s3_store.messages.begin_delivery(mailbox.id)
    big.write(os.urandom(9 * MIB))
    small = s3_store.messages.begin_delivery(mailbox.id)
    small.write(b"hello")
    assert pending(s3_store) == [big.path]
    big.abort()
    small.abort()
    assert (pending(s3_store), keys_in(s3_store), s3_store.messages.list(mailbox.id)) == (
        [],
        [],
        [],
    )


@pytest.mark.parametrize("size", [10, 9 * MIB])
def test_publish_never_replaces_an_object(s3_store, box, size):
    mailbox, passphrase = box
    info = deliver(s3_store, mailbox.id, b"Subject: first\r\n\r\nkept\r\n")
    temp = s3_store.blobs.new_temp(new_message_id(), info.path)
    temp.write(os.urandom(size))
    temp.close_durably()
    with pytest.raises(AlreadyExists, match="already exists"):
        s3_store.blobs.publish(temp, info.path)
    temp.discard()
    assert pending(s3_store) == []
    key = s3_store.keys.unlock(mailbox.id, passphrase)
    assert plaintext(s3_store, key, info) == b"Subject: first\r\n\r\nkept\r\n"


def test_reconcile_touches_only_settled_orphans(s3_store, box):
    mailbox, _ = box
    kept = deliver(s3_store, mailbox.id, message(1000))
    orphan = s3_store.messages.begin_delivery(mailbox.id)
    orphan.write(message(2000))
    orphan.publish()  # object complete, row never committed: a node died in between
    junk = f"blobs/{mailbox.id}/2026/01/{new_message_id()}.age"
    s3_store.blobs.objects.put_stream(junk, [b"not an age file"])

    young = s3_store.maintenance.reconcile()  # another node may be about to commit them
    assert (young.adopted, young.quarantined, young.missing_files) == ([], [], [])
    assert len(s3_store.messages.list(mailbox.id)) == 1

    time.sleep(GRACE + 0.5)
    settled = s3_store.maintenance.reconcile()
    assert settled.adopted == [orphan.path]
    assert settled.quarantined == ["quarantine/" + junk.replace("/", "_")]
    assert keys_in(s3_store, "quarantine/") == settled.quarantined
    assert {m.id for m in s3_store.messages.list(mailbox.id)} == {kept.id, orphan.message_id}
    assert junk not in keys_in(s3_store, "blobs/")

    s3_store.blobs.remove(kept.path)  # lost behind the index's back
    assert s3_store.maintenance.reconcile().missing_files == [kept.path]


def test_stale_uploads_are_aborted_but_a_live_delivery_is_spared(s3_store, box):
    mailbox, passphrase = box
    abandoned = s3_store.messages.begin_delivery(mailbox.id)  # its node was killed
    abandoned.write(os.urandom(9 * MIB))
    time.sleep(GRACE + 0.5)
    live = s3_store.messages.begin_delivery(mailbox.id)
    raw = message(9 * MIB)
    live.write(raw)
    assert sorted(pending(s3_store)) == sorted([abandoned.path, live.path])
    assert s3_store.maintenance.reconcile().temp_removed == 1
    assert pending(s3_store) == [live.path]
    (info,) = s3_store.messages.commit_deliveries([live])
    key = s3_store.keys.unlock(mailbox.id, passphrase)
    assert plaintext(s3_store, key, info) == raw


def test_fsck_finds_and_repairs_missing_damaged_and_orphaned_objects(s3_store, box):
    mailbox, _ = box
    infos = [deliver(s3_store, mailbox.id, message(3000 + n)) for n in range(4)]
    client, bucket = s3_store.blobs.objects.client, s3_store.blobs.objects.location.bucket
    s3_store.blobs.remove(infos[0].path)
    with s3_store.blobs.open(infos[1].path) as fh:
        tampered = bytearray(fh.read())
    tampered[-5] ^= 1
    client.put_object(Bucket=bucket, Key="gw/" + infos[1].path, Body=bytes(tampered))
    orphan = s3_store.messages.begin_delivery(mailbox.id)
    orphan.write(message(500))
    orphan.publish()
    time.sleep(GRACE + 0.5)

    report = fsck(s3_store, grace=0)
    assert [p.path for p in report.missing] == [infos[0].path]
    assert [(p.path, p.reason) for p in report.damaged] == [
        (infos[1].path, "SHA-256 differs from the index")
    ]
    assert [p.path for p in report.orphans] == [orphan.path]

    repaired = fsck(s3_store, repair=True, grace=0)
    assert repaired.adopted == [orphan.path]
    assert repaired.quarantined == ["quarantine/" + infos[1].path.replace("/", "_")]
    assert sorted(repaired.rows_removed) == sorted([infos[0].id, infos[1].id])
    assert fsck(s3_store, grace=0).ok
    left = {m.id for m in s3_store.messages.list(mailbox.id)}
    assert left == {infos[2].id, infos[3].id, orphan.message_id}


def test_fsck_leaves_a_young_orphan_alone_whatever_grace_it_is_given(s3_store, box):
    mailbox, _ = box
    orphan = s3_store.messages.begin_delivery(mailbox.id)
    orphan.write(message(500))
    orphan.publish()  # another node's delivery, about to commit
    assert fsck(s3_store, repair=True, grace=0).orphans == []
    assert keys_in(s3_store, "blobs/") == [orphan.path]


def test_no_plaintext_reaches_the_object_store(s3_store, box, seaweed_s3: SeaweedS3):
    mailbox, _ = box
    canary = b"CANARY-" + os.urandom(8).hex().encode()
    info = deliver(s3_store, mailbox.id, message(300_000, canary))
    with s3_store.blobs.open(info.path) as fh:
        tail = fh.read()[-4096:]  # ciphertext: incompressible, so stored as it is
    found_tail = False
    for path in seaweed_s3.data.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert canary not in content, path
            found_tail = found_tail or tail in content
    assert found_tail, "the scan did not see the object's bytes: wrong directory?"


def test_readiness_and_free_space_are_the_nodes_own(s3_store):
    s3_store.maintenance.check_writable()
    assert keys_in(s3_store) == []  # the probe object is gone again
    assert s3_store.maintenance.free_bytes() == s3_store.blobs.free_bytes() > 0


def test_a_part_body_reads_and_rewinds_as_botocore_needs():
    """Signing reads the part once and a retry seeks back: same bytes each time."""
    body = ChunkBody()
    pieces = [os.urandom(n) for n in (1, 65536, 7, 100_000)]
    for piece in pieces:
        body.append(piece)
    whole = b"".join(pieces)
    assert len(body) == len(whole)
    assert b"".join(iter(lambda: body.read(8192), b"")) == whole
    assert body.seek(0, os.SEEK_END) == len(whole)
    body.seek(65530)
    assert body.tell() == 65530 and body.read() == whole[65530:]
    body.seek(0)
    buffer = bytearray(70_000)
    assert body.readinto(buffer) == 70_000 and bytes(buffer) == whole[:70_000]
