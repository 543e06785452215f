"""change-passphrase, reset-passphrase, recover, purge-sealed and the three input routes."""

from __future__ import annotations

import pytest

from storage import WrongPassphrase
from tests.support.mail import deliver

from .conftest import as_json, failed, ok, secret_file, snapshot

MESSAGE = b"Subject: kept\r\n\r\nbody\r\n"


def _readable(store, mailbox_id: str, passphrase: str) -> int:
    key = store.keys.unlock(mailbox_id, passphrase)
    return sum(
        1
        for m in store.messages.list(mailbox_id)
        if key.can_read(m.epoch) and b"".join(store.messages.read(key, m)) == MESSAGE
    )


def _new_passphrase(stdout: str) -> str:
    (line,) = [line for line in stdout.splitlines() if line.startswith("New passphrase:")]
    return line.split(":", 1)[1].strip()


@pytest.mark.parametrize("route", ["file", "stdin", "prompt"])
def test_change_passphrase(run, store, mailbox, tmp_path, route):
    box, passphrase = mailbox
    deliver(store, box.id, MESSAGE)
    args, text = {
        "file": (["--passphrase-file", secret_file(tmp_path, passphrase)], None),
        "stdin": (["--passphrase-stdin"], passphrase + "\n"),
        "prompt": ([], passphrase + "\n"),
    }[route]
    result = ok(run("mailbox", "change-passphrase", box.id, *args, input=text))
    new = _new_passphrase(result.stdout)
    assert "shown only once" in result.stderr
    assert passphrase not in result.stdout + result.stderr
    with pytest.raises(WrongPassphrase):
        store.keys.unlock(box.id, passphrase)
    assert _readable(store, box.id, new) == 1


def test_change_passphrase_json(run, store, mailbox):
    box, passphrase = mailbox
    document = as_json(
        run(
            "mailbox",
            "change-passphrase",
            box.address,
            "--passphrase-stdin",
            "--json",
            input=passphrase.lower().replace("-", " ") + "\n",
        )
    )
    assert set(document) == {"id", "passphrase"} and document["id"] == box.id
    store.keys.unlock(box.id, document["passphrase"])


WRONG = "00000-00000-00000-00000-00000-00000"


@pytest.mark.parametrize("given", [WRONG, "not-a-passphrase"])
def test_change_passphrase_wrong(run, store, mailbox, data_dir, given):
    box, passphrase = mailbox
    before = snapshot(data_dir)
    err = failed(
        run("mailbox", "change-passphrase", box.id, "--passphrase-stdin", input=given + "\n"),
        "wrong passphrase",
    )
    assert given not in err
    assert snapshot(data_dir) == before
    store.keys.unlock(box.id, passphrase)


def test_passphrase_input_errors(run, mailbox, tmp_path, data_dir):
    box, passphrase = mailbox
    before = snapshot(data_dir)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    failed(
        run("mailbox", "change-passphrase", box.id, "--passphrase-file", str(empty)),
        "holds no passphrase",
    )
    failed(
        run("mailbox", "change-passphrase", box.id, "--passphrase-stdin", input=""),
        "standard input",
    )
    failed(
        run("mailbox", "change-passphrase", box.id, "--passphrase-file", str(tmp_path / "missing")),
        "does not exist",
        code=2,
    )
    failed(
        run(
            "mailbox",
            "change-passphrase",
            box.id,
            "--passphrase-file",
            secret_file(tmp_path, passphrase),
            "--passphrase-stdin",
        ),
        "already given",
        code=2,
    )
    failed(run("mailbox", "change-passphrase", box.id, input=""), "Aborted")
    assert snapshot(data_dir) == before


def test_change_passphrase_unknown_mailbox(run, mailbox):
    failed(
        run(
            "mailbox",
            "change-passphrase",
            "ghost@example.test",
            "--passphrase-stdin",
            input=WRONG + "\n",
        ),
        "no mailbox ghost@example.test",
    )


def test_reset_passphrase(run, store, mailbox):
    box, old = mailbox
    deliver(store, box.id, MESSAGE)
    result = ok(run("mailbox", "reset-passphrase", "journal@example.test", "--yes"))
    new = _new_passphrase(result.stdout)
    assert "1 messages are sealed" in result.stdout
    assert _readable(store, box.id, new) == 0
    with pytest.raises(WrongPassphrase):
        store.keys.unlock(box.id, old)


@pytest.mark.parametrize("answer", ["", "y\n", "n\n"])
def test_reset_passphrase_without_a_terminal_needs_yes(run, store, mailbox, data_dir, answer):
    """No terminal to ask on (a script, cron, a pipe): an Error: line and exit 2, whatever
    standard input holds; never "Aborted!", never a reset. (The terminal prompt itself is
    tested through a pty in test_subprocess.py.)"""
    box, passphrase = mailbox
    before = snapshot(data_dir)
    stderr = failed(
        run("mailbox", "reset-passphrase", box.id, input=answer),
        "Error: refusing to reset the passphrase without confirmation: no terminal to ask on;"
        " pass --yes",
        code=2,
    )
    assert "Aborted" not in stderr
    assert snapshot(data_dir) == before
    store.keys.unlock(box.id, passphrase)
    document = as_json(run("mailbox", "reset-passphrase", box.id, "--json", "--yes"))
    assert set(document) == {"id", "passphrase", "sealed_messages"}
    store.keys.unlock(box.id, document["passphrase"])


def test_reset_unknown_mailbox(run, mailbox):
    failed(run("mailbox", "reset-passphrase", "ghost@example.test", "--yes"), "no mailbox")


@pytest.fixture
def after_reset(store, mailbox):
    """(mailbox id, old passphrase, current passphrase) with one message sealed under old."""
    box, old = mailbox
    deliver(store, box.id, MESSAGE)
    current = store.keys.reset_passphrase(box.id)
    return box.id, old, current


def test_recover_from_stdin_old_then_current(run, store, after_reset):
    mailbox_id, old, current = after_reset
    out = ok(
        run("mailbox", "recover", mailbox_id, "--passphrase-stdin", input=f"{old}\n{current}\n")
    ).stdout
    assert "Recovered 1 key epochs" in out and "0 messages remain sealed" in out
    assert _readable(store, mailbox_id, current) == 1


def test_recover_from_two_files(run, store, after_reset, tmp_path):
    mailbox_id, old, current = after_reset
    document = as_json(
        run(
            "mailbox",
            "recover",
            mailbox_id,
            "--json",
            "--old-passphrase-file",
            secret_file(tmp_path, old, "old"),
            "--passphrase-file",
            secret_file(tmp_path, current, "current"),
        )
    )
    assert document == {"id": mailbox_id, "recovered_epochs": 1, "sealed_messages": 0}
    assert _readable(store, mailbox_id, current) == 1


def test_recover_file_and_stdin_mixed(run, store, after_reset, tmp_path):
    mailbox_id, old, current = after_reset
    ok(
        run(
            "mailbox",
            "recover",
            mailbox_id,
            "--old-passphrase-file",
            secret_file(tmp_path, old),
            "--passphrase-stdin",
            input=current + "\n",
        )
    )
    assert _readable(store, mailbox_id, current) == 1


def test_recover_prompts_for_both(run, store, after_reset):
    mailbox_id, old, current = after_reset
    result = ok(run("mailbox", "recover", mailbox_id, input=f"{old}\n{current}\n"))
    assert "Old passphrase" in result.stderr and "Current passphrase" in result.stderr
    assert _readable(store, mailbox_id, current) == 1


@pytest.mark.parametrize("which", ["old", "current"])
def test_recover_wrong_passphrase(run, store, after_reset, data_dir, which):
    mailbox_id, old, current = after_reset
    lines = f"{WRONG}\n{current}\n" if which == "old" else f"{old}\n{WRONG}\n"
    before = snapshot(data_dir)
    message = "opens no sealed key epoch" if which == "old" else "wrong passphrase"
    err = failed(run("mailbox", "recover", mailbox_id, "--passphrase-stdin", input=lines), message)
    assert old not in err and current not in err
    assert snapshot(data_dir) == before


def test_recover_stdin_with_every_file_given_is_usage_error(run, after_reset, tmp_path):
    mailbox_id, old, current = after_reset
    failed(
        run(
            "mailbox",
            "recover",
            mailbox_id,
            "--passphrase-stdin",
            "--old-passphrase-file",
            secret_file(tmp_path, old, "o"),
            "--passphrase-file",
            secret_file(tmp_path, current, "c"),
        ),
        "already given",
        code=2,
    )


def test_purge_sealed(run, store, after_reset, data_dir):
    mailbox_id, _, current = after_reset
    deliver(store, mailbox_id, MESSAGE)
    before = snapshot(data_dir)
    stderr = failed(
        run("mailbox", "purge-sealed", mailbox_id, input="y\n"),
        "Error: refusing to purge sealed mail without confirmation: no terminal to ask on;"
        " pass --yes",
        code=2,
    )
    assert "Aborted" not in stderr
    assert snapshot(data_dir) == before
    document = as_json(run("mailbox", "purge-sealed", mailbox_id, "--yes", "--json"))
    assert document == {"id": mailbox_id, "purged_epochs": 1, "purged_messages": 1}
    assert store.mailboxes.get(mailbox_id).messages == 1
    assert _readable(store, mailbox_id, current) == 1
    assert "nothing to purge" in ok(run("mailbox", "purge-sealed", mailbox_id, "--yes")).stdout


def test_purge_text_output(run, after_reset):
    mailbox_id, _, _ = after_reset
    out = ok(run("mailbox", "purge-sealed", mailbox_id, "--yes")).stdout
    assert "Purged 1 sealed key epochs and 1 messages" in out


def test_purge_unknown_mailbox(run, mailbox):
    failed(run("mailbox", "purge-sealed", "ghost@example.test", "--yes"), "no mailbox")
