"""gateway mailbox list | show."""

from __future__ import annotations

from tests.support.mail import deliver

from .conftest import as_json, failed, ok

LIST_KEYS = {
    "id",
    "name",
    "domain",
    "address",
    "addresses",
    "status",
    "messages",
    "bytes",
    "quota",
    "sealed_messages",
}


def test_list_json_contract(run, store, mailbox):
    box, _ = mailbox
    deliver(store, box.id, b"Subject: one\r\n\r\nbody\r\n")
    (entry,) = as_json(run("mailbox", "list", "--json"))
    assert LIST_KEYS <= set(entry)
    assert entry["id"] == box.id
    assert entry["address"] == box.address
    assert entry["addresses"] == [box.address, "journal@example.test"]
    assert entry["messages"] == 1
    assert entry["bytes"] == store.mailboxes.get(box.id).bytes > 0
    assert entry["quota"] == 0 and entry["sealed_messages"] == 0
    assert entry["status"] == "active"


def test_list_filters_by_domain(run, store, mailbox):
    store.domains.add("other.test")
    other, _ = store.mailboxes.create("other.test", actor=None)
    assert [
        m["id"] for m in as_json(run("mailbox", "list", "--domain", "Other.test", "--json"))
    ] == [other.id]
    assert len(as_json(run("mailbox", "list", "--json"))) == 2


def test_list_text(run, mailbox):
    box, _ = mailbox
    out = ok(run("mailbox", "list")).stdout
    assert box.id in out and "active" in out and "Acme journal" in out


def test_list_empty(run, domain):
    assert "gateway mailbox create" in ok(run("mailbox", "list")).stdout
    assert as_json(run("mailbox", "list", "--json")) == []


def test_list_unknown_domain(run, mailbox):
    failed(run("mailbox", "list", "--domain", "nope.test"), "no domain nope.test")


def test_list_counts_sealed_messages(run, store, mailbox):
    box, _ = mailbox
    deliver(store, box.id, b"Subject: before reset\r\n\r\n.\r\n")
    store.keys.reset_passphrase(box.id)
    (entry,) = as_json(run("mailbox", "list", "--json"))
    assert entry["sealed_messages"] == 1


def test_show_by_id_and_by_any_address(run, mailbox):
    box, _ = mailbox
    for ref in (box.id, box.address.upper(), "journal@example.test"):
        document = as_json(run("mailbox", "show", ref, "--json"))
        assert document["id"] == box.id
        assert document["epochs"][0]["state"] == "current"
    text = ok(run("mailbox", "show", "journal@example.test")).stdout
    assert box.id in text and "key epochs" in text and "unlimited" in text


def test_show_unknown_mailbox(run, mailbox):
    failed(run("mailbox", "show", "nobody@example.test"), "no mailbox nobody@example.test")
    failed(run("mailbox", "show", "mbx-doesnotexist"), "no mailbox mbx-doesnotexist")
