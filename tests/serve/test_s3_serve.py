"""`gateway serve` with storage.blobs = s3://...: a 20 MiB message in by SMTP, out by POP3."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from tests.support.seaweed import S3Target, SeaweedS3, gateway_env

from .conftest import FAST_ARGON, GATEWAY, GatewayProcess
from .test_serve import retrieve_all, send

pytestmark = pytest.mark.external
MIB = 1024 * 1024
MESSAGE_SIZE = 20 * MIB
# Less than the message: it is never held whole. Measured on a 2-core machine: about
# 14 MiB (one 8 MiB part on its way up, buffers), the same for a 60 MiB message.
RSS_GROWTH_BOUND_KIB = MESSAGE_SIZE // 1024


def cli(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GATEWAY, "--data", str(data_dir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **FAST_ARGON, **env},
        timeout=120,
        check=False,
    )


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class RssSampler:
    """The highest resident set seen while the block runs (sampled every 20 ms; VmHWM
    would mostly show the start-up peak)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_kib(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def big_message(size: int) -> bytes:
    head = b"From: Alice <alice@example.org>\r\nSubject: twenty MiB\r\n\r\n"
    lines = base64.encodebytes(os.urandom(size * 3 // 4)).replace(b"\n", b"\r\n")
    return head + lines


def test_a_20_mib_message_goes_to_s3_and_comes_back_byte_identical(
    gateway_data: Path, s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
):
    env = gateway_env(s3_target, tmp_path)
    assert cli(gateway_data, env, "domain", "add", "example.test").returncode == 0
    made = cli(gateway_data, env, "mailbox", "create", "--domain", "example.test", "--json")
    assert made.returncode == 0, made.stderr
    box = json.loads(made.stdout)
    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready()

    send(gateway.ports["smtp"], box["address"], b"Subject: warm-up\r\n\r\nhello\r\n")
    assert len(retrieve_all(gateway.ports["pop3"], box["address"], box["passphrase"])) == 1
    message = big_message(MESSAGE_SIZE)
    before = rss_kib(gateway.proc.pid)
    with RssSampler(gateway.proc.pid) as sampler:
        send(gateway.ports["smtp"], box["address"], message)
        got = retrieve_all(gateway.ports["pop3"], box["address"], box["passphrase"])
    grown = sampler.peak - before
    assert gateway.stop() == 0

    assert got[1][got[1].index(b"From: Alice") :] == message
    assert grown < RSS_GROWTH_BOUND_KIB, f"peak RSS grew {grown} KiB"
    objects = seaweed_s3.client().list_objects_v2(Bucket=s3_target.bucket, Prefix="gw/blobs/")
    assert len(objects["Contents"]) == 2
    assert not list((gateway_data / "blobs").rglob("*.age"))
    output = "\n".join(gateway.stdout + gateway.stderr)
    assert s3_target.secret_access_key not in output
