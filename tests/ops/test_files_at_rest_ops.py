"""Backups, restores and fsck keep files at rest private; the seal key of the TOTP
secrets stays apart from backups unless asked, and restore makes TOTP sign-in work."""

from __future__ import annotations

import json
import os
import secrets
import stat

import pyotp

from gateway.config import load_settings
from gateway.store_factory import open_configured_store
from storage.async_store import AsyncStore
from storage.maintenance import backup, restore
from storage.sealing import default_key_path, encode_key
from tests.support.mail import deliver, sample_message
from tests.support.modes import not_private, umask
from tests.web.conftest import PASSWORD, Console, FakeClock
from web import WebOptions, create_app


def test_backup_and_restore_output_is_private_under_umask_022(store, mailbox, tmp_path):
    deliver(store, mailbox[0].id, sample_message(1))
    empty_but_open = tmp_path / "restored"
    empty_but_open.mkdir(mode=0o755)
    os.chmod(empty_but_open, 0o755)  # e.g. a volume made by someone else
    with umask(0o022):
        backup(store, tmp_path / "b", include_secrets=True)
        restore(tmp_path / "b", empty_but_open)
    assert (tmp_path / "b" / "secrets" / "seal.key").exists()
    assert not_private(tmp_path / "b") == {}
    assert (empty_but_open / "gateway.db").exists()
    assert not_private(empty_but_open) == {}


def _admin_with_totp(store) -> str:
    secret = pyotp.random_base32()
    store.admins.create("erin", "superadmin", [], PASSWORD)
    store.admins.set_totp("erin", secret, [])
    return secret


def test_a_backup_leaves_the_seal_key_out_unless_asked(run, store, tmp_path):
    secret = _admin_with_totp(store)
    made = run("backup", str(tmp_path / "b"))
    assert made.exit_code == 0, made.output
    assert "seal key of the TOTP secrets is not in the backup" in made.stdout
    assert not (tmp_path / "b" / "secrets").exists()
    held = b"".join(p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert secret.encode() not in held  # a leaked backup does not give the TOTP secret
    key_text = default_key_path(store.data_dir).read_bytes().strip()
    assert key_text not in held

    with_secrets = run("backup", "--include-secrets", "--json", str(tmp_path / "s"))
    assert json.loads(with_secrets.stdout)["secrets_included"] is True
    assert (tmp_path / "s" / "secrets" / "seal.key").read_bytes().strip() == key_text


def test_restore_without_the_key_warns_and_with_a_wrong_key_refuses(run, store, tmp_path):
    _admin_with_totp(store)
    run("backup", str(tmp_path / "b"))
    bare = run("restore", str(tmp_path / "b"), env={"GATEWAY_DATA": str(tmp_path / "bare")})
    assert bare.exit_code == 0, bare.output
    assert "1 TOTP secret(s) in the backup are sealed with a seal key that is not in it" in (
        bare.stderr
    )
    wrong_key = tmp_path / "wrong.key"
    wrong_key.write_text(encode_key(secrets.token_bytes(32)))
    target = tmp_path / "r"
    refused = run(
        "restore", str(tmp_path / "b"), "--seal-key-file", str(wrong_key),
        env={"GATEWAY_DATA": str(target)},
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "not the one this backup's TOTP secrets were sealed with" in refused.stderr
    assert list(target.iterdir()) == []  # nothing put in place
    bad_file = tmp_path / "bad.key"
    bad_file.write_text("hunter2")
    garbage = run(
        "restore", str(tmp_path / "b"), "--seal-key-file", str(bad_file),
        env={"GATEWAY_DATA": str(target)},
    )  # fmt: skip
    assert garbage.exit_code == 1 and "not a seal key" in garbage.stderr
    assert "hunter2" not in garbage.output


async def test_restore_with_the_key_given_apart_then_totp_sign_in_works(
    run, store, tmp_path, aiohttp_client
):
    secret = _admin_with_totp(store)
    kept_apart = tmp_path / "kept-apart.key"
    kept_apart.write_bytes(default_key_path(store.data_dir).read_bytes())
    assert run("backup", str(tmp_path / "b")).exit_code == 0
    target = tmp_path / "restored"
    restored = run(
        "restore", str(tmp_path / "b"), "--seal-key-file", str(kept_apart), "--json",
        env={"GATEWAY_DATA": str(target)},
    )  # fmt: skip
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.stdout)["seal_key"] == "given" and not restored.stderr
    key_file = default_key_path(target)
    assert key_file.read_bytes() == kept_apart.read_bytes()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # The restored directory as `gateway serve` opens it: key from DATA/secrets/seal.key.
    astore = AsyncStore(open_configured_store(target, load_settings(None)), max_workers=2)
    try:
        clock = FakeClock()
        options = WebOptions(data_dir=target, secure_cookies=False, clock=clock)
        console = Console(await aiohttp_client(create_app(astore, options)))
        assert (await console.login("erin")).status == 401  # the second factor is required
        signed_in = await console.login("erin", code=pyotp.TOTP(secret).at(clock.now))
        assert signed_in.status == 303
    finally:
        astore.close()


def test_fsck_warns_about_wider_modes_and_repair_tightens_them(run, store, mailbox):
    info = deliver(store, mailbox[0].id, sample_message(1))
    os.chmod(store.data_dir / info.path, 0o644)
    os.chmod(store.data_dir / "gateway.db", 0o664)
    checked = run("fsck")
    assert checked.exit_code == 0, checked.output  # a warning, not damage
    assert f"warning  file {info.path} has mode 0644, should be 0600" in checked.stdout
    assert "warning  file gateway.db has mode 0664, should be 0600" in checked.stdout
    assert "gateway fsck --repair" in checked.stdout
    as_json = json.loads(run("fsck", "--json").stdout)
    assert {"path": info.path, "mode": "0644", "wanted": "0600", "directory": False} in (
        as_json["loose_modes"]
    )
    repaired = run("fsck", "--repair")
    assert "Tightened the mode of 2 path(s)." in repaired.stdout
    assert stat.S_IMODE((store.data_dir / info.path).stat().st_mode) == 0o600
    assert not_private(store.data_dir) == {}
    assert "warning" not in run("fsck").stdout
    audit = {(e.action, e.target, e.detail) for e in store.audit.list(actor="fsck")}
    assert ("fsck.tighten-mode", info.path, "0644 -> 0600") in audit
