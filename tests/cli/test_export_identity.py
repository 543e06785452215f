"""gateway mailbox export-identity: a 0600 age identity file that stock age tools accept."""

from __future__ import annotations

import re
import shlex
import stat
import subprocess
from pathlib import Path

import pyrage
import pytest
import zstandard

from storage import open_store
from tests.support.argon import FAST_KDF
from tests.support.mail import deliver
from tests.support.tools import require_tool

from .conftest import as_json, create_mailbox, failed, ok, secret_file

MESSAGE = b"Subject: read me without the gateway\r\n\r\ncanary 4242\r\n"


def _secret_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("AGE-SECRET-KEY-")]


def test_pyrage_decrypts_a_stored_file_with_the_exported_identity(
    run, store, domain, data_dir, tmp_path
):
    created = create_mailbox(run, env={"GATEWAY_CRYPTO__RECIPIENT": "x25519"})
    deliver(store, created["id"], MESSAGE)
    out = tmp_path / "identity.txt"
    result = ok(
        run(
            "mailbox",
            "export-identity",
            created["address"],
            "--out",
            str(out),
            "--passphrase-file",
            secret_file(tmp_path, created["passphrase"]),
        )
    )
    assert "mode 0600" in result.stdout and "WARNING" in result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    (line,) = _secret_lines(out.read_text())
    identity = pyrage.x25519.Identity.from_str(line)
    (message,) = store.messages.list(created["id"])
    (path,) = data_dir.rglob(f"{message.id}.age")
    payload = pyrage.decrypt(path.read_bytes(), [identity])
    if message.encoding == "zstd":
        payload = zstandard.ZstdDecompressor().decompressobj().decompress(payload)
    assert payload == MESSAGE


def test_post_quantum_identity_and_sealed_epochs(run, store, mailbox, tmp_path):
    box, old = mailbox
    current = store.keys.reset_passphrase(box.id)
    out = tmp_path / "id"
    ok(
        run(
            "mailbox",
            "export-identity",
            box.id,
            "--out",
            str(out),
            "--passphrase-stdin",
            input=current + "\n",
        )
    )
    text = out.read_text()
    (line,) = _secret_lines(text)
    assert line.startswith("AGE-SECRET-KEY-PQ-1")
    assert "epoch 1: sealed under another passphrase" in text
    assert old not in text and current not in text


def test_wrong_passphrase_creates_no_file(run, mailbox, tmp_path):
    box, _ = mailbox
    out = tmp_path / "id"
    failed(
        run(
            "mailbox",
            "export-identity",
            box.id,
            "--out",
            str(out),
            "--passphrase-stdin",
            input="00000-00000-00000-00000-00000-00000\n",
        ),
        "wrong passphrase",
    )
    assert not out.exists()


def test_existing_file_is_not_overwritten(run, mailbox, tmp_path):
    box, passphrase = mailbox
    out = tmp_path / "id"
    out.write_text("keep")
    failed(
        run(
            "mailbox",
            "export-identity",
            box.id,
            "--out",
            str(out),
            "--passphrase-stdin",
            input=passphrase + "\n",
        ),
        "already exists",
    )
    assert out.read_text() == "keep"


@pytest.mark.parametrize("args", [["ghost@example.test", "--out", "x"]])
def test_unknown_mailbox(run, mailbox, args):
    failed(
        run("mailbox", "export-identity", *args, "--passphrase-stdin", input="x\n"),
        "no mailbox ghost@example.test",
    )


def test_out_is_required(run, mailbox):
    box, _ = mailbox
    failed(run("mailbox", "export-identity", box.id), "--out", code=2)


def _export(run, mailbox_id: str, passphrase: str, out: Path):
    return ok(
        run(
            "mailbox",
            "export-identity",
            mailbox_id,
            "--out",
            str(out),
            "--passphrase-stdin",
            input=passphrase + "\n",
        )
    )


def _pipelines(stderr: str) -> dict[str, str]:
    """The age command lines export-identity printed, by the encoding each one is for."""
    found = {}
    for line in stderr.splitlines():
        command = line.strip().partition("  #")[0]
        if command.startswith("age -d -i "):
            found["zstd" if "| zstd -dc" in command else "raw"] = command.strip()
    return found


def _run_pipeline(command: str, message_file: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """The printed command, as an admin pastes it into a shell, on one stored file."""
    assert "MESSAGE.age" in command, command
    script = command.replace("MESSAGE.age", shlex.quote(str(message_file)))
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_the_printed_age_pipelines_read_stored_mail_with_debian_age(
    run, store, domain, data_dir, tmp_path
):
    """x25519: both printed pipelines, run with the real `age` and `zstd`, give back the
    message byte for byte (zstd-compressed, the default, and raw)."""
    require_tool("age")
    require_tool("zstd")
    created = create_mailbox(run, env={"GATEWAY_CRYPTO__RECIPIENT": "x25519"})
    compressed = deliver(store, created["id"], MESSAGE)
    raw_store = open_store(data_dir, kdf=FAST_KDF, compress=False)
    try:
        raw = deliver(raw_store, created["id"], MESSAGE)
    finally:
        raw_store.close()
    assert (compressed.encoding, raw.encoding) == ("zstd", "raw")
    out = tmp_path / "acme identity.txt"  # a space: the printed command quotes the path
    result = _export(run, created["id"], created["passphrase"], out)
    assert "holds 1 identity: x25519 (epoch 1)" in result.stderr
    assert "post-quantum" not in result.stderr
    assert f"{data_dir}/blobs/{created['id']}/" in result.stderr
    pipelines = _pipelines(result.stderr)
    assert pipelines == {
        "zstd": f"age -d -i {shlex.quote(str(out))} MESSAGE.age | zstd -dc > message.eml",
        "raw": f"age -d -i {shlex.quote(str(out))} MESSAGE.age > message.eml",
    }
    for info in (compressed, raw):
        (path,) = data_dir.rglob(f"{info.id}.age")
        done = _run_pipeline(pipelines[info.encoding], path, tmp_path)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "message.eml").read_bytes() == MESSAGE
        (tmp_path / "message.eml").unlink()
    assert "jgw-bind" in result.stderr and "zstd" in result.stderr and "raw" in result.stderr


def test_a_post_quantum_identity_says_which_age_can_read_it(
    run, store, mailbox, data_dir, tmp_path
):
    """The default mlkem768x25519 identity: the note names age >= 1.3 and Debian 12's
    `unknown identity type`, and the installed age behaves as the note says."""
    age = require_tool("age")
    box, passphrase = mailbox
    info = deliver(store, box.id, MESSAGE)
    out = tmp_path / "pq.txt"
    result = _export(run, box.id, passphrase, out)
    assert "holds 1 identity: mlkem768x25519 (post-quantum, epoch 1)" in result.stderr
    assert "age 1.3 or later" in result.stderr
    assert "Debian 12's age 1.1" in result.stderr and '"unknown identity type"' in result.stderr
    (path,) = data_dir.rglob(f"{info.id}.age")
    done = _run_pipeline(_pipelines(result.stderr)["zstd"], path, tmp_path)
    version = subprocess.run([age, "--version"], capture_output=True, text=True).stdout
    if tuple(int(n) for n in re.findall(r"\d+", version)[:2]) < (1, 3):
        assert done.returncode != 0 and b"unknown identity type" in done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "message.eml").read_bytes() == MESSAGE


def test_mixed_identities_get_an_x25519_only_file_for_debian_age(
    run, store, domain, data_dir, tmp_path
):
    """An x25519 epoch, then a post-quantum one (reset, then recover): the printed grep
    makes a file that Debian's age reads the x25519 mail with."""
    require_tool("age")
    require_tool("zstd")
    created = create_mailbox(run, env={"GATEWAY_CRYPTO__RECIPIENT": "x25519"})
    old_mail = deliver(store, created["id"], MESSAGE)
    reset = as_json(run("mailbox", "reset-passphrase", created["id"], "--yes", "--json"))
    current = reset["passphrase"]
    ok(
        run(
            "mailbox",
            "recover",
            created["id"],
            "--passphrase-stdin",
            input=f"{created['passphrase']}\n{current}\n",
        )
    )
    out = tmp_path / "both.txt"
    result = _export(run, created["id"], current, out)
    assert "2 identities: x25519 (epoch 1), mlkem768x25519 (post-quantum, epoch 2)" in (
        result.stderr
    )
    (grep_line,) = [line for line in result.stderr.splitlines() if "grep -v" in line]
    command = grep_line.split(": ", 1)[1]
    assert subprocess.run(["bash", "-c", command], cwd=tmp_path, check=False).returncode == 0
    x25519_only = tmp_path / "x25519-only.txt"
    assert "AGE-SECRET-KEY-PQ-1" not in x25519_only.read_text()
    (path,) = data_dir.rglob(f"{old_mail.id}.age")
    pipeline = _pipelines(result.stderr)["zstd"].replace(str(out), str(x25519_only))
    done = _run_pipeline(pipeline, path, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "message.eml").read_bytes() == MESSAGE
