"""storage/sqlite/sessions.py: console sessions and API tokens, hashed at rest."""

from __future__ import annotations

import pytest

from storage.errors import InvalidInput, NotFound


@pytest.fixture
def admin(web_store):
    web_store.create_admin("ann", "superadmin", [], "p" * 16)
    return "ann"


def test_sessions(web_store, admin):
    session, raw = web_store.create_session(admin, "192.0.2.1", "Firefox", now=100.0)
    assert session.admin == admin and session.source == "192.0.2.1" and session.created == 100.0
    assert session.id.startswith("ses-") and raw not in session.id
    assert web_store.get_session(raw) == session
    assert web_store.get_session(raw + "x") is None
    web_store.touch_session(raw, now=200.0)
    assert web_store.get_session(raw).last_seen == 200.0
    web_store.set_session_data(raw, {"flash": [["ok", "hi"]]})
    assert web_store.get_session(raw).data == {"flash": [["ok", "hi"]]}
    _, other = web_store.create_session(admin, now=300.0)
    assert [s.last_seen for s in web_store.list_sessions(admin)] == [300.0, 200.0]
    assert web_store.delete_admin_sessions(admin, keep_raw=raw) == 1
    assert web_store.get_session(other) is None and web_store.get_session(raw)
    web_store.delete_session(raw)
    assert web_store.list_sessions(admin) == []
    with pytest.raises(NotFound):
        web_store.create_session("nobody")


def test_purge_sessions(web_store, admin):
    _, old = web_store.create_session(admin, now=100.0)
    _, idle = web_store.create_session(admin, now=1000.0)
    _, fresh = web_store.create_session(admin, now=1000.0)
    web_store.touch_session(fresh, now=2000.0)
    assert web_store.purge_sessions(idle_before=1500.0, created_before=500.0) == 2
    assert web_store.get_session(fresh) and not web_store.get_session(old)


def test_sessions_and_tokens_go_with_their_admin(web_store, admin):
    _, raw = web_store.create_session(admin)
    _, token = web_store.create_api_token(admin, "ci")
    web_store.delete_admin(admin)
    assert web_store.get_session(raw) is None and web_store.verify_api_token(token) is None


def test_api_tokens(web_store, admin):
    token, raw = web_store.create_api_token(admin, "  provisioning ", now=10.0)
    assert raw.startswith("jgw_") and len(raw) > 40
    assert token.name == "provisioning" and token.last_used is None
    assert web_store.verify_api_token(raw, now=20.0).id == token.id
    assert web_store.get_api_token(token.id).last_used == 20.0
    last = "y" if raw.endswith("x") else "x"  # a really different token
    assert web_store.verify_api_token(raw[:-1] + last) is None
    assert web_store.verify_api_token("not-a-token") is None
    stored = web_store.db.conn().execute("SELECT * FROM api_tokens").fetchone()
    assert raw not in "".join(str(v) for v in stored)
    assert [t.id for t in web_store.list_api_tokens()] == [token.id]
    with pytest.raises(NotFound):
        web_store.revoke_api_token(token.id, admin="someone-else")
    web_store.revoke_api_token(token.id, admin=admin)
    assert web_store.verify_api_token(raw) is None
    with pytest.raises(NotFound):
        web_store.revoke_api_token(token.id)
    with pytest.raises(InvalidInput):
        web_store.create_api_token(admin, "")
    with pytest.raises(NotFound):
        web_store.create_api_token("nobody", "x")
