"""gateway mailbox update: every option, and all-or-nothing on bad input."""

from __future__ import annotations

import pytest

from .conftest import as_json, failed, ok, snapshot


def test_update_everything(run, store, mailbox):
    box, _ = mailbox
    document = as_json(
        run(
            "mailbox",
            "update",
            "journal@example.test",
            "--status",
            "hold",
            "--quota",
            "1G",
            "--name",
            "Renamed",
            "--description",
            "desc",
            "--allow-network",
            "10.0.0.0/8",
            "--allow-network",
            "2001:db8::/32",
            "--add-alias",
            "archive@example.test",
            "--remove-alias",
            "journal@example.test",
            "--protocols",
            "pop3",
            "--json",
        )
    )
    assert document["status"] == "hold" and document["quota"] == 1 << 30
    assert document["name"] == "Renamed" and document["description"] == "desc"
    assert document["allowed_networks"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert document["addresses"] == [box.address, "archive@example.test"]
    assert document["protocols"] == ["pop3"]
    stored = store.mailboxes.get(box.id)
    assert stored.status == "hold" and stored.aliases == ("archive@example.test",)


def test_clear_networks_and_no_protocols(run, store, mailbox):
    box, _ = mailbox
    store.mailboxes.update(box.id, allowed_networks=["192.0.2.0/24"])
    out = ok(run("mailbox", "update", box.id, "--clear-networks", "--protocols", "none")).stdout
    assert f"Updated mailbox {box.id}" in out
    stored = store.mailboxes.get(box.id)
    assert stored.allowed_networks == () and stored.protocols == ()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--allow-network", "10.0.0.0/33", "--add-alias", "new@example.test"], "invalid network"),
        (
            ["--quota", "5M", "--add-alias", "new@example.test", "--add-alias", "bad address"],
            "invalid address",
        ),
        (
            [
                "--remove-alias",
                "journal@example.test",
                "--add-alias",
                "other@example.test",
                "--allow-network",
                "nonsense",
            ],
            "invalid network",
        ),
        (["--add-alias", "taken@example.test"], "already in use"),
        (["--add-alias", "x@unknown.test"], "not an accepted domain"),
        (["--remove-alias", "stranger@example.test"], "is not an alias"),
    ],
)
def test_bad_input_changes_nothing(run, store, mailbox, data_dir, args, message):
    box, _ = mailbox
    store.mailboxes.create("example.test", aliases=["taken@example.test"], actor=None)
    before = snapshot(data_dir)
    failed(run("mailbox", "update", box.id, *args), message)
    assert snapshot(data_dir) == before


def test_unknown_mailbox(run, mailbox, data_dir):
    before = snapshot(data_dir)
    failed(run("mailbox", "update", "ghost@example.test", "--status", "hold"), "no mailbox")
    assert snapshot(data_dir) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to change"),
        (["--status", "sleeping"], "--status"),
        (["--protocols", "smtp"], "unknown protocol"),
        (["--allow-network", "10.0.0.0/8", "--clear-networks"], "not both"),
    ],
)
def test_usage_errors(run, mailbox, data_dir, args, message):
    box, _ = mailbox
    before = snapshot(data_dir)
    failed(run("mailbox", "update", box.id, *args), message, code=2)
    assert snapshot(data_dir) == before
