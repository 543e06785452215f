"""gateway admin create | list | reset-password | disable-totp."""

from __future__ import annotations

import pytest

from .conftest import as_json, failed, ok, snapshot


def test_create_json_contract_and_password_works(run, store):
    document = as_json(run("admin", "create", "alice", "--json"))
    assert set(document) == {"name", "role", "password"}
    assert document["name"] == "alice" and document["role"] == "superadmin"
    assert store.admins.verify_password("alice", document["password"]) is not None


def test_create_text_and_domain_admin(run, store, domain):
    result = ok(run("admin", "create", "bob", "--role", "domain-admin", "--domain", "Example.TEST"))
    assert "Created admin bob (domain-admin)" in result.stdout
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("Password:")]
    assert store.admins.verify_password("bob", line.split(":", 1)[1].strip())
    assert "shown only once" in result.stderr
    assert store.admins.get("bob").domains == ("example.test",)


def test_list(run, store, domain):
    store.admins.create("carol", role="viewer", domains=["example.test"])
    (entry,) = as_json(run("admin", "list", "--json"))
    assert entry["name"] == "carol" and entry["role"] == "viewer"
    assert entry["domains"] == ["example.test"] and entry["totp_enabled"] is False
    assert "password" not in entry
    assert "carol" in ok(run("admin", "list")).stdout


def test_list_empty(run, store):
    assert "gateway admin create" in ok(run("admin", "list")).stdout
    assert as_json(run("admin", "list", "--json")) == []


def test_reset_password(run, store):
    _, old = store.admins.create("dave")
    document = as_json(run("admin", "reset-password", "dave", "--json"))
    assert set(document) == {"name", "password"}
    assert store.admins.verify_password("dave", old) is None
    assert store.admins.verify_password("dave", document["password"]) is not None
    out = ok(run("admin", "reset-password", "dave")).stdout
    assert "New password:" in out


def test_disable_totp(run, store):
    store.admins.create("erin")
    store.admins.set_totp("erin", "JBSWY3DPEHPK3PXP", ["hash"])
    assert store.admins.get("erin").totp_enabled
    assert "Two-factor login is off" in ok(run("admin", "disable-totp", "erin")).stdout
    assert not store.admins.get("erin").totp_enabled
    assert store.admins.totp("erin") == (None, [])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "taken"], "already exists"),
        (["create", "bad name!"], "admin names are"),
        (["create", "frank", "--role", "viewer", "--domain", "nope.test"], "no domain nope.test"),
        (["create", "frank", "--role", "domain-admin"], "needs at least one --domain"),
        (["reset-password", "ghost"], "no admin ghost"),
        (["disable-totp", "ghost"], "no admin ghost"),
    ],
)
def test_bad_input_changes_nothing(run, store, domain, data_dir, args, message):
    store.admins.create("taken")
    before = snapshot(data_dir)
    failed(run("admin", *args), message)
    assert snapshot(data_dir) == before


def test_unknown_role_is_a_usage_error(run, store):
    failed(run("admin", "create", "x", "--role", "god"), "--role", code=2)
