"""`gateway mailbox delete ID --hand-over-to OTHER` (issue 15, item 2): the deleted
mailbox's addresses move to OTHER, and mail sent to them afterwards lands there."""

from __future__ import annotations

import asyncio
import json
import poplib

from gateway.pop3 import start_pop3
from tests.support.mail import deliver, rcpt_reply, send_with_smtplib

from .conftest import failed, ok, snapshot


def _pop3_messages(port: int, user: str, passphrase: str, client_tls) -> list[bytes]:
    client = poplib.POP3("127.0.0.1", port, timeout=30)
    client.stls(context=client_tls)
    client.user(user)
    client.pass_(passphrase)
    count = len(client.list()[1])
    bodies = [b"\r\n".join(client.retr(n)[1]) for n in range(1, count + 1)]
    client.quit()
    return bodies


async def test_mail_to_the_old_addresses_lands_in_the_successor(
    run, store, domain, gateway_context, smtp_port, client_tls
):
    old, _ = store.mailboxes.create(
        domain, name="Departed", aliases=["ceo@example.test"], actor=None
    )
    new, passphrase = store.mailboxes.create(domain, name="Successor", actor=None)
    store.mailboxes.update(old.id, status="hold")
    result = await asyncio.to_thread(
        run, "mailbox", "delete", old.id, "--hand-over-to", new.address
    )
    ok(result)
    assert f"Handed over to {new.id}: {old.address}, ceo@example.test" in result.stdout
    assert store.mailboxes.find(old.id) is None
    assert set(store.mailboxes.get(new.id).aliases) == {old.address, "ceo@example.test"}
    message = b"Subject: for the departed\r\n\r\nstill written to the old address\r\n"
    await asyncio.to_thread(send_with_smtplib, smtp_port, old.address, [message], client_tls)
    pop3 = await start_pop3(gateway_context)
    try:
        bodies = await asyncio.to_thread(
            _pop3_messages, pop3.addresses[0][1], new.id, passphrase, client_tls
        )
    finally:
        await pop3.stop(0)
    assert len(bodies) == 1
    assert b"still written to the old address" in bodies[0]
    assert f"Delivered-To: {old.address}".encode() in bodies[0]
    shown = ok(await asyncio.to_thread(run, "mailbox", "show", new.id, "--json")).stdout
    (handed,) = json.loads(shown)["handed_over"]
    assert (handed["from"], handed["name"]) == (old.id, "Departed")
    assert handed["addresses"] == [old.address, "ceo@example.test"]
    text = ok(await asyncio.to_thread(run, "mailbox", "show", new.id)).stdout
    assert f"handed over:        from {old.id} on " in text
    (entry,) = [e for e in store.audit.list() if e.action == "mailbox.hand-over"]
    assert (entry.target, entry.detail) == (new.id, f"from={old.id} {old.address},ceo@example.test")


async def test_hand_over_to_another_domain_is_refused_and_nothing_changes(
    run, store, domain, data_dir, smtp_port
):
    ok(run("domain", "add", "other.test"))
    old, _ = store.mailboxes.create(domain, name="Departed", actor=None)
    elsewhere, _ = store.mailboxes.create("other.test", name="Other customer", actor=None)
    store.mailboxes.update(old.id, status="hold")
    before = snapshot(data_dir)
    failed(
        run("mailbox", "delete", old.id, "--hand-over-to", elsewhere.id),
        "addresses are handed over only within a domain",
    )
    assert snapshot(data_dir) == before
    assert store.mailboxes.get(old.id).addresses == old.addresses
    assert store.mailboxes.get(elsewhere.id).aliases == ()
    reply = await asyncio.to_thread(rcpt_reply, smtp_port, old.address)
    assert reply.startswith("451 4.2.1"), reply  # still the mailbox on hold


def test_hand_over_to_an_unknown_or_the_same_mailbox_is_refused(run, store, domain, data_dir):
    old, _ = store.mailboxes.create(domain, name="Departed", actor=None)
    store.mailboxes.update(old.id, status="hold")
    before = snapshot(data_dir)
    failed(run("mailbox", "delete", old.id, "--hand-over-to", "nobody@example.test"), "no mailbox")
    failed(run("mailbox", "delete", old.id, "--hand-over-to", old.id), "handed over to itself")
    assert snapshot(data_dir) == before


def test_a_refused_delete_hands_nothing_over(run, store, domain, data_dir):
    """The mailbox holds mail and --yes is missing: the addresses stay where they are."""
    old, _ = store.mailboxes.create(domain, name="Departed", actor=None)
    new, _ = store.mailboxes.create(domain, name="Successor", actor=None)
    store.mailboxes.update(old.id, status="hold")
    deliver(store, old.id, b"Subject: x\r\n\r\nx\r\n")
    failed(run("mailbox", "delete", old.id, "--hand-over-to", new.id), "add --yes")
    assert store.mailboxes.get(old.address).id == old.id
    assert store.mailboxes.get(new.id).aliases == ()
    assert [e.action for e in store.audit.list()] == []
