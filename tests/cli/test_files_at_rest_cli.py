"""The CLI leaves only private files, under any umask; where the seal key comes from."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from storage import open_store
from storage.sealing import Sealer, default_key_path
from tests.support.argon import FAST_ENV, FAST_KDF
from tests.support.modes import not_private

from .conftest import failed, ok

SCRIPT = Path(sys.executable).parent / "gateway"


def gateway_under_umask_022(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """The real executable as a shell with the usual umask 022 starts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(
        [str(SCRIPT), "--data", str(data_dir), *args],
        capture_output=True,
        text=True,
        env={**env, **FAST_ENV},
        timeout=60,
        check=False,
        preexec_fn=lambda: os.umask(0o022),
    )


def test_cli_commands_under_umask_022_leave_only_private_files(tmp_path):
    data = tmp_path / "data"
    for args in (
        ("domain", "add", "example.test"),
        ("mailbox", "create", "--domain", "example.test", "--json"),
        ("admin", "create", "bob", "--json"),
        ("backup", str(tmp_path / "backup")),
    ):
        result = gateway_under_umask_022(data, *args)
        assert result.returncode == 0, (args, result.stderr)
    mailbox_id = json.loads(gateway_under_umask_022(data, "mailbox", "list", "--json").stdout)[0][
        "id"
    ]
    assert {"gateway.db", ".journal-gateway", "secrets/seal.key"} <= {
        p.relative_to(data).as_posix() for p in data.rglob("*")
    }
    assert (data / "blobs").is_dir() and mailbox_id
    assert not_private(data) == {}
    assert not_private(tmp_path / "backup") == {}


def test_the_seal_key_from_the_environment_is_used_and_no_key_file_made(run, data_dir):
    key = secrets.token_bytes(32)
    env = {"GATEWAY_SECRETS__SEAL_KEY": base64.b64encode(key).decode()}
    ok(run("admin", "create", "erin", env=env))
    assert not default_key_path(data_dir).exists()
    store = open_store(data_dir, kdf=FAST_KDF, sealer=Sealer(key))
    try:
        assert store.sealing.problem() is None  # the index was bound to this key
    finally:
        store.close()
    listed = ok(run("admin", "list", "--json", env={"GATEWAY_SECRETS__SEAL_KEY": key.hex()}))
    assert [a["name"] for a in json.loads(listed.stdout)] == ["erin"]


def test_unusable_seal_key_settings_are_clear_errors_that_never_show_the_key(
    run, data_dir, tmp_path
):
    short = base64.b64encode(secrets.token_bytes(16)).decode()
    stderr = failed(
        run("admin", "list", env={"GATEWAY_SECRETS__SEAL_KEY": short}),
        "secrets.seal_key (GATEWAY_SECRETS__SEAL_KEY): not a seal key",
    )
    assert short not in stderr
    failed(
        run("admin", "list", env={"GATEWAY_SECRETS__SEAL_KEY_FILE": str(tmp_path / "none.key")}),
        f"seal key file {tmp_path / 'none.key'} does not exist",
    )
    both = {
        "GATEWAY_SECRETS__SEAL_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "GATEWAY_SECRETS__SEAL_KEY_FILE": str(tmp_path / "k"),
    }
    failed(run("admin", "list", env=both), "are both set: set only one")
    checked = run("config", "check", env={"GATEWAY_SECRETS__SEAL_KEY": short})
    assert checked.exit_code == 1 and "not a seal key" in checked.stderr
    assert short not in checked.output
    assert not data_dir.exists() or not any(data_dir.glob("secrets/*"))
