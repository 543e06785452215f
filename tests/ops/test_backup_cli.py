"""`gateway backup DEST` and `gateway restore SRC` through the command line."""

from __future__ import annotations

import json

from storage import open_store
from tests.support.argon import FAST_KDF
from tests.support.mail import deliver, message_bytes, plaintext


def test_backup_then_restore_through_the_cli(run, store, mailbox, tmp_path):
    mbx, passphrase = mailbox
    sent = {deliver(store, mbx.id, message_bytes(n)).id: message_bytes(n) for n in range(5)}
    result = run("backup", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    assert f"Backup written to {tmp_path / 'b'}: 5 messages in 1 mailboxes" in result.stdout

    target = tmp_path / "restored"
    restored = run("restore", str(tmp_path / "b"), env={"GATEWAY_DATA": str(target)})
    assert restored.exit_code == 0, restored.output
    assert "Restored 5 messages" in restored.stdout
    listing = run("mailbox", "list", "--json", env={"GATEWAY_DATA": str(target)})
    assert [(m["id"], m["messages"]) for m in json.loads(listing.stdout)] == [(mbx.id, 5)]
    assert run("fsck", env={"GATEWAY_DATA": str(target)}).exit_code == 0

    again = open_store(target, kdf=FAST_KDF)
    try:
        key = again.keys.unlock(mbx.id, passphrase)
        assert {m.id: plaintext(again, key, m) for m in again.messages.list(mbx.id)} == sent
    finally:
        again.close()
    actions = [e.action for e in store.audit.list(actor="cli")]
    assert "backup" in actions


def test_backup_json_is_the_manifest(run, store, mailbox, tmp_path):
    deliver(store, mailbox[0].id, message_bytes(1))
    document = json.loads(run("backup", str(tmp_path / "b"), "--json").stdout)
    on_disk = json.loads((tmp_path / "b" / "backup-manifest.json").read_text())
    assert document == on_disk and document["messages"] == 1


def test_restore_refusals_are_one_line_errors(run, store, mailbox, tmp_path):
    mbx, _ = mailbox
    info = deliver(store, mbx.id, message_bytes(1))
    run("backup", str(tmp_path / "b"))
    # into the live, non-empty data directory
    busy = run("restore", str(tmp_path / "b"))
    assert busy.exit_code == 1 and "is not empty" in busy.stderr
    # from a backup whose message file was altered
    blob = tmp_path / "b" / info.path
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    target = tmp_path / "new"
    tampered = run("restore", str(tmp_path / "b"), env={"GATEWAY_DATA": str(target)})
    assert tampered.exit_code == 1
    assert "damaged or was altered" in tampered.stderr and "Traceback" not in tampered.output
    assert list(target.iterdir()) == []
    # from something that is not a backup
    missing = run("restore", str(tmp_path), env={"GATEWAY_DATA": str(target)})
    assert missing.exit_code == 1 and "not a (finished) backup" in missing.stderr


def test_backup_refuses_without_a_store_and_flags_a_damaged_live_store(
    run, store, mailbox, tmp_path
):
    nothing = run("backup", str(tmp_path / "b0"), env={"GATEWAY_DATA": str(tmp_path / "none")})
    assert nothing.exit_code == 1 and "not a Journal Gateway data directory" in nothing.stderr
    assert not (tmp_path / "none").exists()
    info = deliver(store, mailbox[0].id, message_bytes(1))
    store.blobs.path(info.path).unlink()
    result = run("backup", str(tmp_path / "b1"))
    assert result.exit_code == 1
    assert "1 missing and 0 damaged" in result.stderr and "gateway fsck" in result.stderr
    assert (tmp_path / "b1" / "backup-manifest.json").exists()
