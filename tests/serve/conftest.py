"""A real `gateway serve` subprocess on free loopback ports (datasette-style fixture)."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.argon import FAST_ENV

GATEWAY = [sys.executable, "-m", "gateway.cli.main"]
# One process unless a test asks for workers (--workers, or serve.workers in `env`): the
# default, one worker per core, is tested in test_workers.py.
FAST_ARGON = {**FAST_ENV, "GATEWAY_STORAGE__DISK_RESERVE": "0", "GATEWAY_SERVE__WORKERS": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def insecure_tls() -> ssl.SSLContext:
    """The gateway's self-signed certificate is not in any trust store: tests pin nothing."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def cli(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GATEWAY, "--data", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **FAST_ARGON},
        timeout=60,
        check=False,
    )


class GatewayProcess:
    started: list[GatewayProcess] = []  # every instance, so a failed test cannot leak one

    def __init__(
        self, data_dir: Path, extra_args: list[str] | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.ports = {name: free_port() for name in ("smtp", "pop3", "imap", "web")}
        args = [f"--{name}=127.0.0.1:{port}" for name, port in self.ports.items()]
        self.proc = subprocess.Popen(
            [*GATEWAY, "--data", str(data_dir), "serve", *args, *(extra_args or [])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **FAST_ARGON, **(env or {})},
        )
        GatewayProcess.started.append(self)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_ready(self, listeners: int = 4, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = [line for line in self.stdout if "listening on" in line or "console on" in line]
            if len(ready) >= listeners:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.proc.kill()  # never leave a half-started server behind
        self.proc.wait()
        raise AssertionError(f"gateway did not start: {self.stdout} {self.stderr[-20:]}")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


@pytest.fixture(autouse=True)
def no_leaked_gateways():
    """Kill any gateway a test started and did not stop (e.g. after a failed assert)."""
    yield
    while GatewayProcess.started:
        gateway = GatewayProcess.started.pop()
        if gateway.proc.poll() is None:
            gateway.proc.kill()
            gateway.proc.wait()


@pytest.fixture
def gateway_data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def mailbox_on_disk(gateway_data: Path) -> dict:
    assert cli(gateway_data, "domain", "add", "example.test").returncode == 0
    created = cli(gateway_data, "mailbox", "create", "--domain", "example.test", "--json")
    assert created.returncode == 0, created.stderr
    return json.loads(created.stdout)


@pytest.fixture
def running_gateway(gateway_data: Path, mailbox_on_disk: dict):
    gateway = GatewayProcess(gateway_data)
    gateway.wait_ready()
    yield gateway
    gateway.stop()
