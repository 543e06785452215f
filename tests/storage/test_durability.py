"""Durability (DESIGN §3): nothing visible before its commit, nothing committed lost.

Interrupted deliveries leave no message; start-up reconciliation removes temp files,
adopts valid orphan files (renamed into place but never committed) and quarantines
damaged ones; a process killed with SIGKILL loses no message it reported committed.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from storage import MessageDamaged, NotFound, open_store
from tests.support.argon import FAST_KDF

from .helpers import blob_files, deliver, pattern, read_all, read_until_failure

REPO = Path(__file__).resolve().parents[2]
BODY = b"Subject: durable\r\n\r\n" + pattern(100_000, b"durable")


def temp_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "tmp").iterdir())


def assert_nothing_stored(store, data_dir: Path, mailbox_id: str) -> None:
    assert store.messages.list(mailbox_id) == []
    assert blob_files(data_dir) == []
    box = store.mailboxes.get(mailbox_id)
    assert (box.messages, box.bytes) == (0, 0)


def test_aborted_delivery_is_invisible(store, mailbox, data_dir) -> None:
    box, _ = mailbox
    delivery = store.messages.begin_delivery(box.id)
    delivery.write(BODY)
    assert len(temp_files(data_dir)) == 1
    delivery.abort()
    delivery.abort()  # idempotent
    assert temp_files(data_dir) == []
    assert_nothing_stored(store, data_dir, box.id)
    # The aborted copy consumed no UID.
    assert deliver(store, box.id, b"Subject: next\r\n\r\n").uid == 1


def test_published_but_uncommitted_then_aborted_leaves_nothing(store, mailbox, data_dir) -> None:
    box, _ = mailbox
    delivery = store.messages.begin_delivery(box.id)
    delivery.write(BODY)
    published = delivery.publish()
    assert (data_dir / published.path).is_file()
    assert store.messages.list(box.id) == []  # renamed into place is not yet visible
    delivery.abort()
    assert_nothing_stored(store, data_dir, box.id)


def test_dropped_delivery_is_invisible_and_its_temp_file_reconciled(
    store, mailbox, data_dir
) -> None:
    box, _ = mailbox
    delivery = store.messages.begin_delivery(box.id)
    delivery.write(BODY)
    del delivery
    gc.collect()
    assert_nothing_stored(store, data_dir, box.id)
    assert len(temp_files(data_dir)) == 1
    store.close()
    reopened = open_store(data_dir, kdf=FAST_KDF)
    try:
        report = reopened.maintenance.reconcile()
        assert report.temp_removed == 1
        assert (report.adopted, report.quarantined) == ([], [])
        assert temp_files(data_dir) == []
        assert_nothing_stored(reopened, data_dir, box.id)
    finally:
        reopened.close()


def test_failed_commit_removes_every_copy(store, domain, data_dir) -> None:
    live, _ = store.mailboxes.create(domain, actor=None)
    doomed, _ = store.mailboxes.create(domain, actor=None)
    copies = [store.messages.begin_delivery(live.id), store.messages.begin_delivery(doomed.id)]
    for copy in copies:
        copy.write(BODY)
    store.mailboxes.delete(doomed.id)  # deleted while the message was arriving
    with pytest.raises(NotFound):
        store.messages.commit_deliveries(copies)
    assert temp_files(data_dir) == []
    assert_nothing_stored(store, data_dir, live.id)


def publish_orphan(store, mailbox_id: str, body: bytes = BODY):
    """A file renamed into place whose commit never happened (a crash in between)."""
    delivery = store.messages.begin_delivery(mailbox_id)
    delivery.write(body)
    return delivery.publish()


def test_reconcile_adopts_a_valid_orphan(store, mailbox, data_dir) -> None:
    box, passphrase = mailbox
    committed = deliver(store, box.id, b"Subject: committed\r\n\r\n")
    orphan = publish_orphan(store, box.id)
    store.close()

    reopened = open_store(data_dir, kdf=FAST_KDF)
    try:
        assert [m.id for m in reopened.messages.list(box.id)] == [committed.id]
        report = reopened.maintenance.reconcile()
        assert report.adopted == [orphan.path]
        assert report.quarantined == []
        adopted = reopened.messages.get(box.id, orphan.message_id)
        assert adopted.size == -1  # unknown until a key opens it
        assert adopted.uid == committed.uid + 1
        assert (adopted.epoch, adopted.encoding) == (orphan.epoch, orphan.encoding)
        assert (adopted.stored_size, adopted.sha256) == (orphan.stored_size, orphan.sha256)
        box_now = reopened.mailboxes.get(box.id)
        assert box_now.messages == 2
        assert box_now.bytes == committed.stored_size + orphan.stored_size

        key = reopened.keys.unlock(box.id, passphrase)
        assert read_all(reopened, key, adopted) == BODY
        assert reopened.messages.fill_unknown_sizes(key) == 1
        assert reopened.messages.get(box.id, orphan.message_id).size == len(BODY)
        assert reopened.messages.fill_unknown_sizes(key) == 0
        # A second pass finds nothing more to do; new mail continues the UIDs.
        again = reopened.maintenance.reconcile()
        assert (again.adopted, again.quarantined, again.temp_removed) == ([], [], 0)
        assert deliver(reopened, box.id, b"Subject: later\r\n\r\n").uid == adopted.uid + 1
    finally:
        reopened.close()


def test_reconcile_quarantines_damaged_orphans(store, domain, data_dir) -> None:
    box, _ = store.mailboxes.create(domain, actor=None)
    other, _ = store.mailboxes.create(domain, actor=None)
    truncated = publish_orphan(store, box.id)
    path = data_dir / truncated.path
    path.write_bytes(path.read_bytes()[:40])

    renamed = publish_orphan(store, box.id)
    wrong_name = (data_dir / renamed.path).with_name("0" * 26 + ".age")
    os.rename(data_dir / renamed.path, wrong_name)

    moved = publish_orphan(store, box.id)
    elsewhere = data_dir / moved.path.replace(box.id, other.id)
    elsewhere.parent.mkdir(parents=True, exist_ok=True)
    os.rename(data_dir / moved.path, elsewhere)

    unknown_epoch = publish_orphan(store, box.id)
    path = data_dir / unknown_epoch.path
    path.write_bytes(
        path.read_bytes().replace(
            f"{unknown_epoch.message_id} 1 ".encode(), f"{unknown_epoch.message_id} 9 ".encode()
        )
    )

    unknown_encoding = publish_orphan(store, box.id)
    path = data_dir / unknown_encoding.path
    path.write_bytes(
        path.read_bytes().replace(
            f"{unknown_encoding.message_id} 1 zstd".encode(),
            f"{unknown_encoding.message_id} 1 gzip".encode(),
        )
    )

    garbage = data_dir / "blobs" / box.id / "2024" / "01" / ("1" * 26 + ".age")
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"not an age file at all\n")
    store.close()

    reopened = open_store(data_dir, kdf=FAST_KDF)
    try:
        report = reopened.maintenance.reconcile()
        assert report.adopted == []
        assert len(report.quarantined) == 6
        assert blob_files(data_dir) == []
        quarantined = sorted(p.name for p in (data_dir / "quarantine").iterdir())
        assert quarantined == sorted(Path(q).name for q in report.quarantined)
        for mailbox_id in (box.id, other.id):
            assert reopened.messages.list(mailbox_id) == []
    finally:
        reopened.close()


def test_orphan_with_a_damaged_payload_is_adopted_but_never_read(store, mailbox, data_dir):
    """Without the key only the header can be checked; reading then refuses the file."""
    box, passphrase = mailbox
    orphan = publish_orphan(store, box.id)
    path = data_dir / orphan.path
    damaged = bytearray(path.read_bytes())
    damaged[-5] ^= 0x01
    path.write_bytes(bytes(damaged))
    store.close()
    reopened = open_store(data_dir, kdf=FAST_KDF)
    try:
        assert reopened.maintenance.reconcile().adopted == [orphan.path]
        key = reopened.keys.unlock(box.id, passphrase)
        info = reopened.messages.get(box.id, orphan.message_id)
        released, error = read_until_failure(reopened, key, info)
        assert isinstance(error, MessageDamaged)
        assert BODY.startswith(released) and len(released) < len(BODY)
        assert reopened.messages.fill_unknown_sizes(key) == 0
        assert reopened.messages.get(box.id, orphan.message_id).size == -1
    finally:
        reopened.close()


def test_reconcile_reports_missing_files(store, mailbox, data_dir) -> None:
    box, _ = mailbox
    info = deliver(store, box.id, b"Subject: gone\r\n\r\n")
    (data_dir / info.path).unlink()
    assert store.maintenance.reconcile().missing_files == [info.path]


CRASH_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from storage import KdfParams, open_store

    store = open_store(sys.argv[1], kdf=KdfParams(memory_kib=8192, iterations=1, lanes=1))
    mailbox_id = sys.argv[2]
    lock = threading.Lock()

    def body(worker, n):
        return f"Subject: crash {worker}-{n}\\r\\n\\r\\n".encode() + bytes([65 + n % 26]) * (
            1000 + 37 * n
        ) * 20

    def loop(worker):
        n = 0
        while True:
            delivery = store.messages.begin_delivery(mailbox_id)
            data = body(worker, n)
            for i in range(0, len(data), 8192):
                delivery.write(data[i : i + 8192])
            (info,) = store.messages.commit_deliveries([delivery])
            with lock:
                print(info.id, worker, n, flush=True)
            n += 1

    for worker in range(3):
        threading.Thread(target=loop, args=(worker,), daemon=True).start()
    threading.Event().wait()
    """
)


def expected_body(worker: int, n: int) -> bytes:
    return (
        f"Subject: crash {worker}-{n}\r\n\r\n".encode()
        + bytes([65 + n % 26]) * (1000 + 37 * n) * 20
    )


def test_kill_9_loses_no_committed_message(store, mailbox, data_dir, tmp_path) -> None:
    box, passphrase = mailbox
    store.close()
    script = tmp_path / "deliver_forever.py"
    script.write_text(CRASH_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(data_dir), box.id],
        stdout=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    committed: list[tuple[str, int, int]] = []
    try:
        deadline = time.monotonic() + 60
        while len(committed) < 60 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            message_id, worker, n = line.split()
            committed.append((message_id.decode(), int(worker), int(n)))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    for line in rest.splitlines(keepends=True):  # printed before the kill, still in the pipe
        if not line.endswith(b"\n"):
            continue  # the kill cut this line short: its message is in, but not legibly named
        message_id, worker, n = line.split()
        committed.append((message_id.decode(), int(worker), int(n)))
    assert len(committed) >= 60

    reopened = open_store(data_dir, kdf=FAST_KDF)
    try:
        report = reopened.maintenance.reconcile()
        assert report.quarantined == []  # a renamed file is always a complete file
        assert temp_files(data_dir) == []
        listed = {m.id: m for m in reopened.messages.list(box.id)}
        key = reopened.keys.unlock(box.id, passphrase)
        for message_id, worker, n in committed:
            assert message_id in listed, f"committed message {worker}-{n} was lost"
            assert read_all(reopened, key, listed[message_id]) == expected_body(worker, n)
        # Nothing partial is visible: every listed message (adopted ones too) reads whole.
        for info in listed.values():
            data = read_all(reopened, key, info)
            assert data.startswith(b"Subject: crash ")
        uids = [m.uid for m in reopened.messages.list(box.id)]
        assert uids == sorted(set(uids))
    finally:
        reopened.close()
