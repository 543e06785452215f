"""`gateway mailbox relay add | list | remove` (the CLI contract of issue 15)."""

from __future__ import annotations

import pytest

from .conftest import as_json, failed, ok, secret_file, snapshot


@pytest.mark.parametrize("route", ["file", "stdin"])
def test_add_list_change_and_remove(run, store, mailbox, tmp_path, route):
    box, passphrase = mailbox
    args, text = {
        "file": (["--passphrase-file", secret_file(tmp_path, passphrase)], None),
        "stdin": (["--passphrase-stdin"], passphrase + "\n"),
    }[route]
    added = ok(
        run("mailbox", "relay", "add", box.id, "--to", "Archive@Second.example", *args, input=text)
    )
    assert f"Added relay target archive@second.example (required) of {box.id}." in added.stdout
    assert passphrase not in added.stdout + added.stderr
    ok(
        run(
            "mailbox",
            "relay",
            "add",
            box.id,
            "--to",
            "ediscovery@third.example",
            "--policy",
            "best-effort",
            *args,
            input=text,
        )
    )
    listing = as_json(run("mailbox", "relay", "list", box.id, "--json"))
    assert [(t["address"], t["policy"], t["created_by"]) for t in listing["targets"]] == [
        ("archive@second.example", "required", "cli"),
        ("ediscovery@third.example", "best-effort", "cli"),
    ]
    table = ok(run("mailbox", "relay", "list", box.id)).stdout
    assert "archive@second.example" in table and "best-effort" in table
    removed = ok(run("mailbox", "relay", "remove", box.id, "--to", "archive@second.example"))
    assert "Removed relay target archive@second.example" in removed.stdout
    assert [t.address for t in store.relays.list(box.id)] == ["ediscovery@third.example"]


def test_without_the_passphrase_nothing_is_added(run, store, mailbox, tmp_path, data_dir):
    box, passphrase = mailbox
    before = snapshot(data_dir)
    result = run(
        "mailbox",
        "relay",
        "add",
        box.id,
        "--to",
        "eve@evil.example",
        "--passphrase-stdin",
        input="not-the-passphrase\n",
    )
    failed(result, "wrong passphrase")
    wrong_file = secret_file(tmp_path, passphrase + "x")
    failed(
        run(
            "mailbox",
            "relay",
            "add",
            box.id,
            "--to",
            "eve@evil.example",
            "--passphrase-file",
            wrong_file,
        ),
        "wrong passphrase",
    )
    assert snapshot(data_dir) == before
    assert store.relays.list(box.id) == []
    assert [e.action for e in store.audit.list()][:2] == ["mailbox.relay-add-refused"] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "not-an-address"], "invalid address"),
        (["--to", "other@example.test"], "would loop"),
    ],
)
def test_bad_targets_are_refused_with_a_clear_error(run, store, mailbox, args, message):
    box, passphrase = mailbox
    result = run(
        "mailbox", "relay", "add", box.id, *args, "--passphrase-stdin", input=passphrase + "\n"
    )
    failed(result, message)
    assert store.relays.list(box.id) == []


def test_bad_policy_and_unknown_target(run, mailbox):
    box, passphrase = mailbox
    failed(
        run(
            "mailbox",
            "relay",
            "add",
            box.id,
            "--to",
            "a@second.example",
            "--policy",
            "x",
            "--passphrase-stdin",
            input=passphrase + "\n",
        ),
        "--policy",
        code=2,
    )
    failed(
        run("mailbox", "relay", "remove", box.id, "--to", "a@second.example"),
        "is not a relay target",
    )
    empty = ok(run("mailbox", "relay", "list", box.id)).stdout
    assert "relays to no address" in empty
