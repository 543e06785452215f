"""The CLI's side of address scope and the deletion rule (issue 11, items 1 and 8).

The CLI is the operator (whoever can read the data directory) and acts as a superadmin:
any accepted domain, also one other than the mailbox's own; never an unaccepted one.
"""

from __future__ import annotations

import asyncio

import pytest

from storage.models import STATUSES
from tests.support.mail import deliver, rcpt_reply

from .conftest import create_mailbox, failed, ok, snapshot

OWN, OTHER, UNACCEPTED = "example.test", "other.test", "nowhere.test"
TARGETS = {"own domain": OWN, "another accepted domain": OTHER, "unaccepted domain": UNACCEPTED}


@pytest.fixture
def two_domains(run) -> str:
    """example.test and other.test, and a mailbox in example.test; returns its id."""
    ok(run("domain", "add", OWN))
    ok(run("domain", "add", OTHER))
    return create_mailbox(run, "--name", "Acme journal")["id"]


def add_by_create(run, mailbox_id: str, address: str):
    return run("mailbox", "create", "--domain", OWN, "--alias", address, "--json")


def add_by_update(run, mailbox_id: str, address: str):
    return run("mailbox", "update", mailbox_id, "--add-alias", address)


WAYS = {"mailbox create --alias": add_by_create, "mailbox update --add-alias": add_by_update}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("way", WAYS)
async def test_the_operator_may_use_any_accepted_domain(
    run, two_domains, store, data_dir, smtp_port, way, target
):
    address = f"ceo-journal@{TARGETS[target]}"
    before = snapshot(data_dir)
    result = await asyncio.to_thread(WAYS[way], run, two_domains, address)
    reply = await asyncio.to_thread(rcpt_reply, smtp_port, address)
    if target == "unaccepted domain":
        failed(result, f"Error: {address}: its domain is not an accepted domain")
        assert snapshot(data_dir) == before
        assert reply.startswith("550 5.1.1"), reply
    else:
        ok(result)
        assert store.mailboxes.get(address).domain == OWN
        assert reply.startswith("250"), reply


def test_a_domain_used_by_an_alias_elsewhere_cannot_be_removed(run, two_domains, data_dir):
    ok(run("mailbox", "update", two_domains, "--add-alias", f"postmaster@{OTHER}"))
    before = snapshot(data_dir)
    stderr = failed(run("domain", "remove", OTHER), f"domain {OTHER} still has")
    assert f"{two_domains} (alias postmaster@{OTHER})" in stderr
    assert snapshot(data_dir) == before
    ok(run("mailbox", "update", two_domains, "--remove-alias", f"postmaster@{OTHER}"))
    ok(run("domain", "remove", OTHER))


@pytest.mark.parametrize("status", STATUSES)
def test_delete_only_on_hold_or_disabled(run, store, mailbox, data_dir, status):
    box, _ = mailbox
    store.mailboxes.update(box.id, status=status)
    deliver(store, box.id, b"Subject: keep me\r\n\r\nbody\r\n")
    if status in ("hold", "disabled"):
        assert "Deleted mailbox" in ok(run("mailbox", "delete", box.id, "--yes")).stdout
        assert store.mailboxes.find(box.id) is None
        return
    before = snapshot(data_dir)
    failed(
        run("mailbox", "delete", box.id, "--yes"),
        "Error: only a mailbox on hold or disabled can be deleted",
        f"gateway mailbox update {box.id} --status hold",
    )
    assert snapshot(data_dir) == before
