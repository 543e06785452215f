"""gateway mailbox export-identity: a 0600 age identity file that stock age tools accept."""

from __future__ import annotations

import stat

import pyrage
import pytest
import zstandard

from tests.support.mail import deliver

from .conftest import create_mailbox, failed, ok, secret_file

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
    (message,) = store.list_messages(created["id"])
    (path,) = data_dir.rglob(f"{message.id}.age")
    payload = pyrage.decrypt(path.read_bytes(), [identity])
    if message.encoding == "zstd":
        payload = zstandard.ZstdDecompressor().decompressobj().decompress(payload)
    assert payload == MESSAGE


def test_post_quantum_identity_and_sealed_epochs(run, store, mailbox, tmp_path):
    box, old = mailbox
    current = store.reset_passphrase(box.id)
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
