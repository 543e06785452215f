"""`gateway mailbox robot set|show|clear` (issue 15, item 3): every bad input is a clear
error that changes nothing."""

from __future__ import annotations

import json

import pytest

from .conftest import failed, ok, snapshot


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "reply.txt"
    path.write_text("Thank you for writing.\nWe answer within two days.\n", encoding="utf-8")
    return path


def test_set_show_and_clear(run, store, mailbox, text_file):
    box, _ = mailbox
    args = ["mailbox", "robot", "set", "journal@example.test", "--subject", "Received"]
    args += ["--text-file", str(text_file), "--from", "2030-01-01", "--until", "2030-01-31"]
    args += ["--copy-to", "Desk@Example.org", "--interval-days", "3", "--json"]
    document = json.loads(ok(run(*args)).stdout)
    assert document["from"] == "2030-01-01T00:00:00Z"
    assert document["until"] == "2030-02-01T00:00:00Z"  # to the end of the last day
    assert (document["copy_to"], document["interval_days"], document["active"]) == (
        "desk@example.org",
        3,
        False,
    )
    shown = json.loads(ok(run("mailbox", "robot", "show", box.id, "--json")).stdout)
    assert shown["text"] == "Thank you for writing.\nWe answer within two days."
    assert "subject:        Received" in ok(run("mailbox", "robot", "show", box.id)).stdout
    assert f"Robot of {box.id} removed" in ok(run("mailbox", "robot", "clear", box.id)).stdout
    assert json.loads(ok(run("mailbox", "robot", "show", box.id, "--json")).stdout) is None
    actions = [e.action for e in reversed(store.audit.list())]
    assert actions == ["mailbox.robot-set", "mailbox.robot-clear"]


BAD = {
    "CR/LF in the subject": (
        ["--subject", "Hi\r\nBcc: victim@example.org"],
        "the robot subject must be one line: CR and LF are not allowed",
    ),
    "LF in the subject": (["--subject", "Hi\nX-Evil: 1"], "CR and LF are not allowed"),
    "a long subject": (["--subject", "x" * 201], "longer than 200 characters"),
    "a bad date": (["--subject", "S", "--from", "tomorrow"], "is not a date"),
    "end before start": (
        ["--subject", "S", "--from", "2030-02-01", "--until", "2030-01-01"],
        "end must come after its start",
    ),
    "a bad copy address": (["--subject", "S", "--copy-to", "not an address"], "invalid address"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_clearly_and_changes_nothing(
    run, store, mailbox, text_file, data_dir, case
):
    box, _ = mailbox
    extra, message = BAD[case]
    before = snapshot(data_dir)
    failed(run("mailbox", "robot", "set", box.id, "--text-file", str(text_file), *extra), message)
    assert snapshot(data_dir) == before
    assert store.robots.get(box.id) is None


def test_a_text_too_long_or_not_utf8_is_refused(run, mailbox, tmp_path, data_dir):
    box, _ = mailbox
    long_text, latin1 = tmp_path / "long.txt", tmp_path / "latin1.txt"
    long_text.write_text("x" * 10_001)
    latin1.write_bytes("Grüße".encode("latin-1"))
    before = snapshot(data_dir)
    base = ["mailbox", "robot", "set", box.id, "--subject", "S", "--text-file"]
    failed(run(*base, str(long_text)), "longer than 10000 characters")
    failed(run(*base, str(latin1)), "the reply text must be UTF-8")
    assert snapshot(data_dir) == before
