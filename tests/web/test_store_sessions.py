"""storage/sqlite/sessions.py: console sessions and API tokens, hashed at rest."""

from __future__ import annotations

import pytest

from storage.errors import InvalidInput, NotFound


@pytest.fixture
def admin(web_store):
    web_store.admins.create("ann", "superadmin", [], "p" * 16)
    return "ann"


def test_sessions(web_store, admin):
    session, raw = web_store.sessions.create(admin, "192.0.2.1", "Firefox", now=100.0)
    assert session.admin == admin and session.source == "192.0.2.1" and session.created == 100.0
    assert session.id.startswith("ses-") and raw not in session.id
    assert web_store.sessions.get(raw) == session
    assert web_store.sessions.get(raw + "x") is None
    web_store.sessions.touch(raw, now=200.0)
    assert web_store.sessions.get(raw).last_seen == 200.0
    web_store.sessions.set_data(raw, {"flash": [["ok", "hi"]]})
    assert web_store.sessions.get(raw).data == {"flash": [["ok", "hi"]]}
    _, other = web_store.sessions.create(admin, now=300.0)
    assert [s.last_seen for s in web_store.sessions.list(admin)] == [300.0, 200.0]
    assert web_store.sessions.delete_for_admin(admin, keep_raw=raw) == 1
    assert web_store.sessions.get(other) is None and web_store.sessions.get(raw)
    web_store.sessions.delete(raw)
    assert web_store.sessions.list(admin) == []
    with pytest.raises(NotFound):
        web_store.sessions.create("nobody")


def test_purge_sessions(web_store, admin):
    _, old = web_store.sessions.create(admin, now=100.0)
    _, idle = web_store.sessions.create(admin, now=1000.0)
    _, fresh = web_store.sessions.create(admin, now=1000.0)
    web_store.sessions.touch(fresh, now=2000.0)
    assert web_store.sessions.purge(idle_before=1500.0, created_before=500.0) == 2
    assert web_store.sessions.get(fresh) and not web_store.sessions.get(old)


def test_sessions_and_tokens_go_with_their_admin(web_store, admin):
    _, raw = web_store.sessions.create(admin)
    _, token = web_store.tokens.create(admin, "ci")
    web_store.admins.delete(admin)
    assert web_store.sessions.get(raw) is None and web_store.tokens.verify(token) is None


def test_api_tokens(web_store, admin):
    token, raw = web_store.tokens.create(admin, "  provisioning ", now=10.0)
    assert raw.startswith("jgw_") and len(raw) > 40
    assert token.name == "provisioning" and token.last_used is None
    assert web_store.tokens.verify(raw, now=20.0).id == token.id
    assert web_store.tokens.get(token.id).last_used == 20.0
    last = "y" if raw.endswith("x") else "x"  # a really different token
    assert web_store.tokens.verify(raw[:-1] + last) is None
    assert web_store.tokens.verify("not-a-token") is None
    stored = web_store.db.conn().execute("SELECT * FROM api_tokens").fetchone()
    assert raw not in "".join(str(v) for v in stored)
    assert [t.id for t in web_store.tokens.list()] == [token.id]
    with pytest.raises(NotFound):
        web_store.tokens.revoke(token.id, admin="someone-else")
    web_store.tokens.revoke(token.id, admin=admin)
    assert web_store.tokens.verify(raw) is None
    with pytest.raises(NotFound):
        web_store.tokens.revoke(token.id)
    with pytest.raises(InvalidInput):
        web_store.tokens.create(admin, "")
    with pytest.raises(NotFound):
        web_store.tokens.create("nobody", "x")
