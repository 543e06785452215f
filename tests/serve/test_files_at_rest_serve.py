"""`gateway serve` leaves only private files whatever the umask it is started with, and
warns at start-up about files under DATA that others may read."""

from __future__ import annotations

import base64
import os
import secrets
import stat
import time
from pathlib import Path

from gateway.tls import create_self_signed
from storage import open_store
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF
from tests.support.modes import not_private, umask, walked

from .conftest import GatewayProcess, cli


def test_serve_started_under_umask_022_makes_everything_private(gateway_data: Path):
    with umask(0o022):  # inherited by the server process
        gateway = GatewayProcess(gateway_data)
    try:
        gateway.wait_ready()
        made = walked(gateway_data)
        assert {
            "gateway.db",
            "gateway.db-wal",
            "gateway.db-shm",
            "tls/cert.pem",
            "tls/key.pem",
            "secrets/seal.key",
            "blobs",
            "tmp",
        } <= made
        assert not_private(gateway_data) == {}
    finally:
        assert gateway.stop() == 0


def test_start_up_warns_about_wider_modes_and_still_serves(gateway_data: Path, tmp_path):
    assert cli(gateway_data, "domain", "add", "example.test").returncode == 0
    os.chmod(gateway_data / "gateway.db", 0o644)
    os.chmod(gateway_data, 0o755)
    gateway = GatewayProcess(gateway_data)
    try:
        gateway.wait_ready()
        deadline = time.monotonic() + 10
        expected = "data directory: file gateway.db has mode 0644, should be 0600"
        while not any(expected in line for line in gateway.stderr):
            assert time.monotonic() < deadline, gateway.stderr[-10:]
            time.sleep(0.05)
        log = "\n".join(gateway.stderr)
        assert "data directory: directory . has mode 0755, should be 0700" in log
        assert "gateway fsck --repair" in log
    finally:
        assert gateway.stop() == 0
    assert stat.S_IMODE((gateway_data / "gateway.db").stat().st_mode) == 0o644  # only warned


def test_self_signed_certificate_is_private_under_umask_022(tmp_path):
    with umask(0o022):
        create_self_signed(tmp_path / "data" / "tls", "gw.example.test")
    assert walked(tmp_path / "data") >= {"tls/cert.pem", "tls/key.pem"}
    assert not_private(tmp_path / "data") == {}


def test_start_up_says_when_totp_secrets_cannot_be_unsealed(gateway_data: Path):
    store = open_store(gateway_data, kdf=FAST_KDF, sealer=default_sealer(gateway_data))
    store.admins.create("erin")
    store.admins.set_totp("erin", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", [])
    store.close()
    other_key = base64.b64encode(secrets.token_bytes(32)).decode()
    gateway = GatewayProcess(gateway_data, env={"GATEWAY_SECRETS__SEAL_KEY": other_key})
    try:
        gateway.wait_ready()  # mail keeps flowing: only the second factor is out of reach
        expected = (
            "two-factor sign-in will fail: secrets.seal_key (GATEWAY_SECRETS__SEAL_KEY)"
            " is not the seal key this index's TOTP secrets were sealed with"
        )
        deadline = time.monotonic() + 10
        while not any(expected in line for line in gateway.stderr):
            assert time.monotonic() < deadline, gateway.stderr[-10:]
            time.sleep(0.05)
        assert other_key not in "\n".join(gateway.stderr + gateway.stdout)
    finally:
        assert gateway.stop() == 0
