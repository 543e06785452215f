"""gateway domain add | list | remove."""

from __future__ import annotations

from .conftest import as_json, failed, ok, snapshot


def test_add_list_remove(run, store):
    assert "Added domain example.test" in ok(run("domain", "add", "Example.TEST")).stdout
    ok(run("domain", "add", "other.test", "--json"))
    listed = as_json(run("domain", "list", "--json"))
    assert [d["name"] for d in listed] == ["example.test", "other.test"]
    assert listed[0]["mailboxes"] == 0
    text = ok(run("domain", "list")).stdout
    assert "example.test" in text and "other.test" in text
    assert "Removed domain other.test" in ok(run("domain", "remove", "other.test")).stdout
    assert [d.name for d in store.domains.list()] == ["example.test"]


def test_add_json_document(run):
    document = as_json(run("domain", "add", "example.test", "--json"))
    assert document["name"] == "example.test" and document["mailboxes"] == 0


def test_empty_list_says_how_to_add(run):
    assert "gateway domain add" in ok(run("domain", "list")).stdout
    assert as_json(run("domain", "list", "--json")) == []


def test_invalid_domain_name(run, store, data_dir):
    before = snapshot(data_dir)
    failed(run("domain", "add", "not a domain"), "invalid domain name")
    assert snapshot(data_dir) == before


def test_duplicate_domain(run, store, domain, data_dir):
    before = snapshot(data_dir)
    failed(run("domain", "add", "EXAMPLE.test"), "already exists")
    assert snapshot(data_dir) == before


def test_remove_unknown_domain(run, store, domain, data_dir):
    before = snapshot(data_dir)
    failed(run("domain", "remove", "nope.test"), "no domain nope.test")
    assert snapshot(data_dir) == before


def test_remove_domain_with_mailboxes(run, mailbox, data_dir):
    before = snapshot(data_dir)
    failed(run("domain", "remove", "example.test"), "still has mailboxes")
    assert snapshot(data_dir) == before
