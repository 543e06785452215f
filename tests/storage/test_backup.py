"""Online backup while mail arrives, and verified restore into an empty directory."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from storage import open_store
from storage.contract.maintenance import ReconcileReport
from storage.maintenance import BackupError, backup, fsck, restore
from tests.support.argon import FAST_KDF
from tests.support.mail import deliver, message_bytes, plaintext


class Deliverer(threading.Thread):
    """Keeps delivering to a mailbox until stopped; remembers when each commit returned."""

    def __init__(self, store, mailbox_id: str) -> None:
        super().__init__(daemon=True)
        self.store, self.mailbox_id = store, mailbox_id
        self.stop = threading.Event()
        self.acknowledged: list[tuple[float, str, bytes]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        n = 10_000
        try:
            while not self.stop.is_set():
                raw = message_bytes(n, size=(n % 7) * 20_000)
                info = deliver(self.store, self.mailbox_id, raw)
                self.acknowledged.append((time.monotonic(), info.id, raw))
                n += 1
        except BaseException as exc:  # surfaced by the test
            self.error = exc


@pytest.fixture
def filled(store, mailbox):
    """A mailbox with 40 messages (some several chunks long) and a second, empty one."""
    mbx, passphrase = mailbox
    sent = {}
    for n in range(40):
        raw = message_bytes(n, size=n * 3000)
        sent[deliver(store, mbx.id, raw).id] = raw
    store.mailboxes.create("example.test", name="second", actor=None)
    (store.data_dir / "secrets").mkdir(mode=0o700, exist_ok=True)  # holds seal.key
    (store.data_dir / "secrets" / "session.key").write_bytes(b"k" * 32)
    os.chmod(store.data_dir / "secrets" / "session.key", 0o600)
    return mbx, passphrase, sent


def test_backup_during_delivery_restores_every_acknowledged_message(store, filled, tmp_path):
    mbx, passphrase, sent = filled
    deliverer = Deliverer(store, mbx.id)
    deliverer.start()
    while len(deliverer.acknowledged) < 3:
        time.sleep(0.01)
    started = time.monotonic()
    acknowledged_before = {i: raw for t, i, raw in deliverer.acknowledged if t < started}
    report = backup(store, tmp_path / "backup")
    finished = time.monotonic()
    time.sleep(0.05)
    deliverer.stop.set()
    deliverer.join(10)
    assert deliverer.error is None
    assert any(started < t < finished for t, _, _ in deliverer.acknowledged), "no overlap"
    assert report.clean and not report.deleted_during_backup

    restore(tmp_path / "backup", tmp_path / "restored")
    restored = open_store(tmp_path / "restored", kdf=FAST_KDF)
    try:
        assert restored.maintenance.reconcile() == ReconcileReport()
        assert fsck(restored).ok
        key = restored.keys.unlock(mbx.id, passphrase)
        listed = {m.id: m for m in restored.messages.list(mbx.id)}
        expected = {**sent, **acknowledged_before}
        assert set(expected) <= set(listed)
        for message_id, raw in expected.items():
            assert plaintext(restored, key, listed[message_id]) == raw
        for message in listed.values():  # whatever else got in is whole, too
            plaintext(restored, key, message)
        box = restored.mailboxes.get(mbx.id)
        assert box.messages == len(listed) == report.messages
        assert len(restored.mailboxes.list()) == 2
    finally:
        restored.close()


def test_backup_copies_secrets_only_when_asked_0600_and_writes_a_manifest(store, filled, tmp_path):
    backup(store, tmp_path / "plain")
    assert not (tmp_path / "plain" / "secrets").exists()
    plain_manifest = json.loads((tmp_path / "plain" / "backup-manifest.json").read_text())
    assert plain_manifest["secrets_included"] is False
    assert set(plain_manifest["files"]) == {"gateway.db", ".journal-gateway"}
    backup(store, tmp_path / "b", include_secrets=True)
    secret = tmp_path / "b" / "secrets" / "session.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    manifest = json.loads((tmp_path / "b" / "backup-manifest.json").read_text())
    assert manifest["format"] == "journal-gateway-backup"
    assert manifest["messages"] == 40 and manifest["mailboxes"] == 2
    assert manifest["schema_version"] >= 1
    assert manifest["blob_bytes"] == sum(
        p.stat().st_size for p in (tmp_path / "b" / "blobs").rglob("*.age")
    )
    assert manifest["secrets_included"] is True
    assert set(manifest["files"]) == {
        "gateway.db",
        ".journal-gateway",
        "secrets/session.key",
        "secrets/seal.key",
    }
    restore(tmp_path / "b", tmp_path / "r")
    restored_secret = tmp_path / "r" / "secrets" / "session.key"
    assert restored_secret.read_bytes() == b"k" * 32
    assert stat.S_IMODE(restored_secret.stat().st_mode) == 0o600


def test_messages_deleted_during_the_backup_are_dropped_consistently(store, filled, tmp_path):
    mbx, passphrase, sent = filled
    victims = list(sent)[:3]

    def delete_after_snapshot(phase: str) -> None:
        if phase == "index":  # a POP3 client deletes mail while files are copied
            store.messages.delete(mbx.id, victims)

    report = backup(store, tmp_path / "b", progress=delete_after_snapshot)
    assert sorted(report.deleted_during_backup) == sorted(victims)
    assert report.clean and report.messages == 37
    restore(tmp_path / "b", tmp_path / "r")
    restored = open_store(tmp_path / "r", kdf=FAST_KDF)
    try:
        assert fsck(restored).ok  # counters recomputed, no row without its file
        assert restored.mailboxes.get(mbx.id).messages == 37
        assert not set(victims) & {m.id for m in restored.messages.list(mbx.id)}
    finally:
        restored.close()


def test_a_file_lost_from_the_live_store_is_reported_not_hidden(store, filled, tmp_path):
    mbx, _, _ = filled
    lost = store.messages.list(mbx.id)[5]
    store.blobs.path(lost.path).unlink()
    report = backup(store, tmp_path / "b")
    assert report.missing == [lost.path] and not report.clean
    result = restore(tmp_path / "b", tmp_path / "r")
    assert result.missing == [lost.path]


def test_backup_refuses_a_non_empty_destination_and_one_inside_the_data_dir(
    store, filled, tmp_path
):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(BackupError, match="not empty"):
        backup(store, tmp_path / "full")
    with pytest.raises(BackupError, match="inside the data directory"):
        backup(store, store.data_dir / "backup")


def test_restore_refuses_a_non_empty_directory(store, filled, tmp_path):
    backup(store, tmp_path / "b")
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "b", target)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def _flip_byte(path: Path, offset: int = -10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


REFUSALS = {
    "blob": "blobs/.* fails its SHA-256",
    "index": "gateway.db fails its SHA-256",
    "manifest-count": "index and manifest count different mail",
    "secret": "secrets/session.key fails its SHA-256",
    "no-manifest": "no backup-manifest.json",
}


@pytest.mark.parametrize("what", ["blob", "index", "manifest-count", "secret", "no-manifest"])
def test_restore_refuses_a_tampered_backup_and_leaves_the_target_empty(
    store, filled, tmp_path, what
):
    mbx, _, _ = filled
    backup(store, tmp_path / "b", include_secrets=what == "secret")
    manifest_path = tmp_path / "b" / "backup-manifest.json"
    if what == "blob":
        _flip_byte(tmp_path / "b" / store.messages.list(mbx.id)[7].path)
    elif what == "index":
        _flip_byte(tmp_path / "b" / "gateway.db", 200)
    elif what == "manifest-count":
        manifest = json.loads(manifest_path.read_text())
        manifest["messages"] -= 1
        manifest_path.write_text(json.dumps(manifest))
    elif what == "secret":
        (tmp_path / "b" / "secrets" / "session.key").write_bytes(b"x" * 32)
    else:
        manifest_path.unlink()
    with pytest.raises(BackupError, match=REFUSALS[what]):
        restore(tmp_path / "b", tmp_path / "r")
    target = tmp_path / "r"
    assert not target.exists() or not any(target.iterdir())


def test_restore_refuses_paths_outside_the_layout(store, filled, tmp_path):
    backup(store, tmp_path / "b")
    manifest_path = tmp_path / "b" / "backup-manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["../escape"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="unexpected path"):
        restore(tmp_path / "b", tmp_path / "r")
    assert not (tmp_path / "escape").exists()


def test_a_restored_store_is_a_working_gateway_store(store, filled, tmp_path):
    mbx, passphrase, _ = filled
    backup(store, tmp_path / "b")
    restore(tmp_path / "b", tmp_path / "r")
    restored = open_store(tmp_path / "r", kdf=FAST_KDF)
    try:
        info = deliver(restored, mbx.id, message_bytes(999))
        key = restored.keys.unlock(mbx.id, passphrase)
        assert plaintext(restored, key, info) == message_bytes(999)
        assert info.uid == 41  # UIDs continue after the restored ones
        assert restored.mailboxes.get("journal@example.test").id == mbx.id
    finally:
        restored.close()
