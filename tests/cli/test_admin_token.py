"""`gateway admin token create|list|revoke`."""

from __future__ import annotations

import json

from storage import open_store


def test_token_create_list_revoke(run, data_dir):
    assert run("admin", "create", "alice").exit_code == 0
    created = run("admin", "token", "create", "backup-script", "--admin", "alice", "--json")
    assert created.exit_code == 0, created.output
    document = json.loads(created.stdout)
    assert set(document) == {"id", "name", "admin", "token"}
    assert document["token"].startswith("jgw_")
    store = open_store(data_dir)
    try:
        assert store.tokens.verify(document["token"]).admin == "alice"
    finally:
        store.close()
    listed = json.loads(run("admin", "token", "list", "--json").stdout)
    assert [t["id"] for t in listed] == [document["id"]]
    assert document["token"] not in run("admin", "token", "list").stdout
    assert run("admin", "token", "revoke", document["id"]).exit_code == 0
    store = open_store(data_dir)
    try:
        assert store.tokens.verify(document["token"]) is None
    finally:
        store.close()


def test_token_for_unknown_admin_fails_cleanly(run):
    result = run("admin", "token", "create", "x", "--admin", "nobody")
    assert result.exit_code == 1
    assert "no admin nobody" in result.stderr


def test_revoking_an_unknown_token_fails_cleanly(run):
    result = run("admin", "token", "revoke", "tok-nothere")
    assert result.exit_code == 1
    assert "no API token tok-nothere" in result.stderr
