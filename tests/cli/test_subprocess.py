"""The real `gateway` executable, as an admin or a script runs it."""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.argon import FAST_ENV
from tests.support.mail import deliver

from .conftest import secret_file

SCRIPT = Path(sys.executable).parent / "gateway"
CONTRACT = {"id", "name", "domain", "address", "addresses", "status", "passphrase"}


def _env(data_dir: Path, fast: bool = True) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return {**base, "GATEWAY_DATA": str(data_dir), **(FAST_ENV if fast else {})}


def gateway(
    data_dir: Path, *args: str, input: str | None = None, fast: bool = True, module: bool = False
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "gateway.cli.main"] if module else [str(SCRIPT)]
    return subprocess.run(
        [*command, *args],
        input=input,
        capture_output=True,
        text=True,
        env=_env(data_dir, fast),
        timeout=60,
    )


@pytest.fixture(autouse=True)
def _needs_script():
    if not SCRIPT.exists():
        pytest.skip("the gateway console script is not installed in this environment")


def test_mailbox_create_json_prints_the_contract(data_dir):
    assert gateway(data_dir, "domain", "add", "example.test").returncode == 0
    result = gateway(data_dir, "mailbox", "create", "--domain", "example.test", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == CONTRACT
    assert document["address"] == f"{document['id']}@example.test"
    assert "shown only once" in result.stderr
    listed = json.loads(gateway(data_dir, "mailbox", "list", "--json", module=True).stdout)
    assert [m["id"] for m in listed] == [document["id"]]


def test_errors_are_one_line_exit_1_without_traceback(data_dir):
    gateway(data_dir, "domain", "add", "example.test")
    result = gateway(data_dir, "mailbox", "create", "--domain", "nope.test")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.strip() == "Error: no domain nope.test"
    created = json.loads(
        gateway(data_dir, "mailbox", "create", "--domain", "example.test", "--json").stdout
    )
    wrong = "00000-00000-00000-00000-00000-00000"
    result = gateway(
        data_dir,
        "mailbox",
        "change-passphrase",
        created["id"],
        "--passphrase-stdin",
        input=wrong + "\n",
        module=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: wrong passphrase"
    assert "Traceback" not in result.stderr and wrong not in result.stderr


def test_usage_error_exits_2(data_dir):
    result = gateway(data_dir, "mailbox", "change-passphrase", "mbx-x", "--passphrase", "x")
    assert result.returncode == 2
    assert "No such option" in result.stderr and "--passphrase" in result.stderr


def test_default_argon2_parameters(data_dir, tmp_path):
    """No light KDF here: new epochs use DESIGN §2's 64 MiB, 3 iterations, 4 lanes."""
    gateway(data_dir, "domain", "add", "example.test", fast=False)
    created = json.loads(
        gateway(
            data_dir, "mailbox", "create", "--domain", "example.test", "--json", fast=False
        ).stdout
    )
    result = gateway(
        data_dir,
        "mailbox",
        "change-passphrase",
        created["address"],
        "--passphrase-file",
        secret_file(tmp_path, created["passphrase"]),
        "--json",
        fast=False,
    )
    assert result.returncode == 0, result.stderr
    new = json.loads(result.stdout)["passphrase"]
    conn = sqlite3.connect(f"file:{data_dir / 'gateway.db'}?mode=ro", uri=True)
    params = conn.execute(
        "SELECT kdf_memory_kib, kdf_iterations, kdf_lanes FROM epochs WHERE mailbox_id=?",
        (created["id"],),
    ).fetchall()
    conn.close()
    assert params == [(65536, 3, 4)]
    assert new != created["passphrase"]


def test_export_shows_a_progress_bar_on_a_terminal(store, mailbox, data_dir, tmp_path):
    box, passphrase = mailbox
    for n in range(3):
        deliver(store, box.id, f"Subject: {n}\r\n\r\nbody\r\n".encode())
    out = tmp_path / "out.mbox"
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [
            str(SCRIPT),
            "mailbox",
            "export",
            box.id,
            "--out",
            str(out),
            "--passphrase-file",
            secret_file(tmp_path, passphrase),
        ],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=_env(data_dir),
    )
    os.close(terminal)
    output = _read_all(controller)
    assert process.wait(timeout=60) == 0, output
    assert "Exporting" in output and "3/3" in output
    assert "Exported 3 messages" in output


def _on_terminal(data_dir: Path, args: list[str], answer: bytes) -> tuple[int, str]:
    """Run `gateway ARGS` with a pty as its terminal, type `answer` once it asks."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(SCRIPT), *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=_env(data_dir),
    )
    os.close(terminal)
    asked = b""
    while b"[y/N]" not in asked and select.select([controller], [], [], 30)[0]:
        asked += os.read(controller, 4096)
    os.write(controller, answer)
    output = asked.decode(errors="replace") + _read_all(controller)
    return process.wait(timeout=60), output


@pytest.mark.parametrize(
    ("command", "done"),
    [
        (["mailbox", "reset-passphrase"], "New passphrase"),
        (["mailbox", "purge-sealed"], "Purged 1 sealed key epochs"),
    ],
)
def test_confirmation_on_a_terminal(store, mailbox, data_dir, command, done):
    box, passphrase = mailbox
    if command[-1] == "purge-sealed":
        store.keys.reset_passphrase(box.id)
    code, output = _on_terminal(data_dir, [*command, box.id], b"n\n")
    assert code == 1, output
    assert "[y/N]" in output and "Error: not confirmed; nothing was changed" in output
    assert "Aborted" not in output
    if command[-1] == "reset-passphrase":
        store.keys.unlock(box.id, passphrase)  # still the passphrase
    code, output = _on_terminal(data_dir, [*command, box.id], b"y\n")
    assert code == 0, output
    assert done in output


def _read_all(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 30)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:  # the terminal closed: EIO on Linux
            break
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")
