"""gateway mailbox create: the JSON contract, the passphrase shown once, bad input."""

from __future__ import annotations

import pytest

from .conftest import create_mailbox, failed, ok, snapshot

CONTRACT = {"id", "name", "domain", "address", "addresses", "status", "passphrase"}


def test_json_is_exactly_the_contract(run, store, domain):
    document = create_mailbox(run, "--name", "Acme", "--alias", "Journal@Example.test")
    assert set(document) == CONTRACT
    assert document["id"].startswith("mbx-")
    assert document["address"] == f"{document['id']}@example.test"
    assert document["addresses"] == [document["address"], "journal@example.test"]
    assert document["domain"] == "example.test"
    assert document["name"] == "Acme"
    assert document["status"] == "active"
    # the printed passphrase is the one that opens the mailbox
    key = store.keys.unlock(document["id"], document["passphrase"])
    assert key.mailbox_id == document["id"]


def test_text_output_shows_passphrase_once_with_warning(run, store, domain):
    result = ok(run("mailbox", "create", "--domain", "example.test", "--description", "ACME"))
    (mailbox,) = store.mailboxes.list()
    assert f"Created mailbox {mailbox.id} in example.test" in result.stdout
    assert mailbox.description == "ACME"
    passphrase_lines = [line for line in result.stdout.splitlines() if "Passphrase:" in line]
    assert len(passphrase_lines) == 1
    store.keys.unlock(mailbox.id, passphrase_lines[0].split(":", 1)[1].strip())
    assert "shown only once" in result.stderr and "NOT stored" in result.stderr


def test_json_still_warns_on_stderr(run, domain):
    result = ok(run("mailbox", "create", "--domain", "example.test", "--json"))
    assert "shown only once" in result.stderr


def test_quota_accepts_units(run, store, domain):
    document = create_mailbox(run, "--quota", "10M")
    assert store.mailboxes.get(document["id"]).quota == 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--domain", "nope.test"], "no domain nope.test"),
        (["--domain", "example.test", "--alias", "not-an-address"], "invalid address"),
        (["--domain", "example.test", "--alias", "a@unknown.test"], "not an accepted domain"),
        (
            ["--domain", "example.test", "--alias", "a@example.test", "--alias", "A@example.test"],
            "given twice",
        ),
        (["--domain", "example.test", "--alias", "journal@example.test"], "already in use"),
    ],
)
def test_bad_input_changes_nothing(run, mailbox, data_dir, args, message):
    before = snapshot(data_dir)
    failed(run("mailbox", "create", *args), message)
    assert snapshot(data_dir) == before


def test_missing_domain_option_is_a_usage_error(run, domain):
    failed(run("mailbox", "create"), "--domain", code=2)


def test_bad_quota_is_a_usage_error(run, domain):
    failed(
        run("mailbox", "create", "--domain", "example.test", "--quota", "lots"),
        "not a size",
        code=2,
    )
