"""The CLI with storage.blobs = s3://...: fsck, export, backup/restore; config errors."""

from __future__ import annotations

import json
import mailbox as pymailbox

import pytest

from gateway.config import load_settings
from gateway.store_factory import open_configured_store
from storage import open_store
from tests.support.argon import FAST_ENV, FAST_KDF
from tests.support.mail import deliver, message_bytes, plaintext
from tests.support.ports import free_port
from tests.support.seaweed import SeaweedS3, gateway_env

pytestmark = pytest.mark.external


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def test_fsck_export_backup_and_restore_with_messages_in_s3(
    run, data_dir, tmp_path, s3_target, seaweed_s3: SeaweedS3
):
    env = gateway_env(s3_target, tmp_path)
    ok(run("domain", "add", "example.test", env=env))  # creates the bucket
    buckets = [b["Name"] for b in seaweed_s3.client().list_buckets()["Buckets"]]
    assert s3_target.bucket in buckets
    created = json.loads(
        ok(run("mailbox", "create", "--domain", "example.test", "--json", env=env)).stdout
    )
    store = open_configured_store(data_dir, load_settings(environ={**FAST_ENV, **env}))
    try:
        sent = {deliver(store, created["id"], message_bytes(n, 90_000)).id for n in range(3)}
    finally:
        store.close()
    assert not list((data_dir / "blobs").rglob("*.age"))  # the objects are in S3
    keys = seaweed_s3.client().list_objects_v2(Bucket=s3_target.bucket, Prefix="gw/blobs/")
    assert len(keys["Contents"]) == 3

    report = json.loads(ok(run("fsck", "--json", env=env)).stdout)
    assert (report["ok"], report["checked"]) == (True, 3)

    pass_file = tmp_path / "pass"
    pass_file.write_text(created["passphrase"] + "\n")
    out = tmp_path / "export.mbox"
    ok(
        run(
            "mailbox", "export", created["id"], "--out", str(out), "--format", "mbox",
            "--passphrase-file", str(pass_file), env=env,
        )
    )  # fmt: skip
    subjects = sorted(m["Subject"] for m in pymailbox.mbox(str(out)))
    assert subjects == ["message 0", "message 1", "message 2"]

    identity = tmp_path / "identity.txt"
    shown = ok(
        run(
            "mailbox", "export-identity", created["id"], "--out", str(identity),
            "--passphrase-file", str(pass_file), env=env,
        )
    )  # fmt: skip
    where = f"s3://{s3_target.bucket}/gw/blobs/{created['id']}/<yyyy>/<mm>/<message-id>.age"
    assert where in shown.stderr

    ok(run("backup", str(tmp_path / "b"), env=env))
    target = tmp_path / "restored"
    ok(run("restore", str(tmp_path / "b"), env={"GATEWAY_DATA": str(target)}))
    ok(run("fsck", env={"GATEWAY_DATA": str(target)}))  # a files store now
    again = open_store(target, kdf=FAST_KDF)
    try:
        key = again.keys.unlock(created["id"], created["passphrase"])
        restored = again.messages.list(created["id"])
        assert {m.id for m in restored} == sent
        assert all(plaintext(again, key, m).startswith(b"From: sender") for m in restored)
    finally:
        again.close()


SECRET = "do-not-show-this-secret-0123456789"


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (
            {"GATEWAY_STORAGE__BLOBS": "s3://UPPER"},
            ["storage.blobs (GATEWAY_STORAGE__BLOBS)", "bucket name 'UPPER'"],
        ),
        (
            {"GATEWAY_STORAGE__BLOBS": "s3://journal", "GATEWAY_STORAGE__S3_ACCESS_KEY_ID": ""},
            ["storage.s3_access_key_id", "must be set for s3:// blobs"],
        ),
        (
            {"GATEWAY_STORAGE__BLOBS": "s3://journal", "GATEWAY_STORAGE__S3_ACCESS_KEY_ID": "AK"},
            ["storage.s3_secret_access_key", "must be set for s3:// blobs"],
        ),
        (
            {
                "GATEWAY_STORAGE__BLOBS": "s3://journal",
                "GATEWAY_STORAGE__S3_ACCESS_KEY_ID": "AK",
                "GATEWAY_STORAGE__S3_SECRET_ACCESS_KEY": SECRET,
                "GATEWAY_STORAGE__S3_SECRET_ACCESS_KEY_FILE": "/etc/hostname",
            },
            ["storage.s3_secret_access_key", "are both set: set only one"],
        ),
        (
            {
                "GATEWAY_STORAGE__BLOBS": "s3://journal",
                "GATEWAY_STORAGE__S3_ACCESS_KEY_ID": "AK",
                "GATEWAY_STORAGE__S3_SECRET_ACCESS_KEY_FILE": "/nonexistent/s3-secret",
            },
            ["storage.s3_secret_access_key_file", "cannot read /nonexistent/s3-secret"],
        ),
    ],
)
def test_config_check_explains_s3_settings_without_the_secret(run, extra, fragments):
    result = run("config", "check", env=extra)
    assert result.exit_code != 0
    for fragment in fragments:
        assert fragment in result.stderr + result.stdout, (fragment, result.stderr)
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_config_show_masks_the_s3_secret(run):
    env = {"GATEWAY_STORAGE__S3_SECRET_ACCESS_KEY": SECRET}
    shown = ok(run("config", "show", env=env))
    assert "s3_secret_access_key = " in shown.stdout
    assert SECRET not in shown.stdout + shown.stderr


def test_an_unreachable_object_store_is_a_one_line_error(run, tmp_path, s3_target):
    env = gateway_env(s3_target, tmp_path)
    env["GATEWAY_STORAGE__S3_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    result = run("domain", "list", env=env)
    assert result.exit_code == 1
    assert "object store unreachable: checking bucket" in result.stderr
    assert s3_target.secret_access_key not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_the_secret_may_come_from_the_environment_instead_of_a_file(run, tmp_path, s3_target):
    env = gateway_env(s3_target, tmp_path)
    del env["GATEWAY_STORAGE__S3_SECRET_ACCESS_KEY_FILE"]
    env["GATEWAY_STORAGE__S3_SECRET_ACCESS_KEY"] = s3_target.secret_access_key
    ok(run("domain", "add", "example.test", env=env))
    assert "example.test" in ok(run("domain", "list", env=env)).stdout
    env["GATEWAY_STORAGE__S3_SECRET_ACCESS_KEY"] = "wrong-" + s3_target.secret_access_key
    refused = run("domain", "list", env=env)
    assert refused.exit_code == 1 and "object store: checking bucket" in refused.stderr
    assert s3_target.secret_access_key not in refused.stdout + refused.stderr
