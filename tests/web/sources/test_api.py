"""/api/v1 fetch sources against a real Dovecot: CRUD, run, test; credentials
accepted on write and never in a response; domain scope; bad input refused whole."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD

from .conftest import SECRET, WRONG, message


@pytest.fixture
async def api(aiohttp_client, app, env, domains):
    """A superadmin's client; every response body it saw, to grep for secrets."""
    env.store.admins.create("robot", "superadmin", [], PASSWORD)
    _, raw = env.store.tokens.create("robot", "ci")
    client = await aiohttp_client(app)
    client.bodies = []

    async def call(method: str, path: str, json=None, token: str = raw):
        headers = {"Authorization": f"Bearer {token}"}
        response = await client.request(method, path, json=json, headers=headers)
        text = await response.text()
        client.bodies.append(text)
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body

    client.call = call
    return client


def imaps(account, ca_pem, **changes) -> dict:
    return {
        "name": "info",
        "protocol": "imap",
        "host": "127.0.0.1",
        "port": account.server.ports["imaps"],
        "username": account.user,
        "ca_file": str(ca_pem),
        "credentials": {"password": account.password},
    } | changes


async def test_create_list_show_update_delete(api, env, mailbox, account, ca_pem):
    status, made = await api.call(
        "POST", f"/api/v1/mailboxes/{mailbox.id}/sources", imaps(account, ca_pem, keep=True)
    )
    assert status == 201, made
    assert made["mailbox"] == mailbox.id and made["keep"] is True and made["folders"] == ["INBOX"]
    assert made["last_run"] is None and made["failing"] is False
    assert "credentials" not in made and "password" not in made
    status, listing = await api.call("GET", f"/api/v1/mailboxes/{mailbox.id}/sources")
    assert status == 200 and [s["id"] for s in listing["sources"]] == [made["id"]]
    status, shown = await api.call("GET", f"/api/v1/sources/{made['id']}")
    assert shown == made
    status, changed = await api.call(
        "PATCH", f"/api/v1/sources/{made['id']}", {"interval": 60, "comment": "note"}
    )
    assert status == 200 and changed["interval"] == 60 and changed["comment"] == "note"
    assert env.store.sources.secret(made["id"]) == {"password": account.password}
    status, _ = await api.call(
        "PATCH", f"/api/v1/sources/{made['id']}", {"credentials": {"password": SECRET}}
    )
    assert status == 200 and env.store.sources.secret(made["id"]) == {"password": SECRET}
    status, _ = await api.call("DELETE", f"/api/v1/sources/{made['id']}")
    assert status == 204
    status, body = await api.call("GET", f"/api/v1/sources/{made['id']}")
    assert (status, body) == (404, {"error": "no such source"})
    assert all(SECRET not in b and account.password not in b for b in api.bodies)
    audit = [e.action for e in reversed(env.store.audit.list(limit=4))]
    assert audit == ["source.add", "source.update", "source.update", "source.remove"]


async def test_run_fetches_into_the_mailbox(api, env, mailbox, account, ca_pem):
    account.put(message(1))
    account.put(message(2))
    _, made = await api.call(
        "POST", f"/api/v1/mailboxes/{mailbox.id}/sources", imaps(account, ca_pem)
    )
    status, outcome = await api.call("POST", f"/api/v1/sources/{made['id']}/run")
    assert status == 200, outcome
    assert (outcome["fetched"], outcome["deleted"], outcome["failed"]) == (2, 2, False)
    status, box = await api.call("GET", f"/api/v1/mailboxes/{mailbox.id}")
    assert box["messages"] == 2
    _, shown = await api.call("GET", f"/api/v1/sources/{made['id']}")
    assert shown["last_count"] == 2 and shown["last_run"] and shown["last_success"]
    assert all(account.password not in b for b in api.bodies)


async def test_test_with_a_wrong_password_is_a_clear_error_and_changes_nothing(
    api, env, mailbox, account, ca_pem
):
    account.put(message(3))
    body = imaps(account, ca_pem, credentials={"password": WRONG})
    _, made = await api.call("POST", f"/api/v1/mailboxes/{mailbox.id}/sources", body)
    before = env.store.sources.get(made["id"])
    status, outcome = await api.call("POST", f"/api/v1/sources/{made['id']}/test")
    assert status == 200 and outcome["ok"] is False
    assert "refused the login" in outcome["error"]
    assert env.store.sources.get(made["id"]) == before
    assert len(account.remaining()) == 1 and env.store.mailboxes.get(mailbox.id).messages == 0
    await api.call(
        "PATCH", f"/api/v1/sources/{made['id']}", {"credentials": {"password": account.password}}
    )
    status, outcome = await api.call("POST", f"/api/v1/sources/{made['id']}/test")
    assert outcome["ok"] is True and outcome["messages"] == 1 and outcome["folders"] == {"INBOX": 1}
    assert outcome["tls"].startswith("TLSv1.")
    assert all(WRONG not in b and account.password not in b for b in api.bodies)


async def test_bad_input_is_refused_and_nothing_changes(api, env, mailbox, account, ca_pem):
    url = f"/api/v1/mailboxes/{mailbox.id}/sources"
    cases = [
        (imaps(account, ca_pem, colour="red"), "unknown fields: colour"),
        (imaps(account, ca_pem, port="993"), "port has the wrong type"),
        (imaps(account, ca_pem, keep="yes"), "keep has the wrong type"),
        (imaps(account, ca_pem, tls="none"), "needs the explicit insecure flag"),
        (imaps(account, ca_pem, credentials={}), "the password credentials need password"),
        (imaps(account, ca_pem, credentials={"pasword": "x"}), "unknown credentials: pasword"),
        ({"name": "x"}, "missing: protocol, host, username, credentials"),
        (imaps(account, ca_pem, protocol="pop3", folders=["A"]), "POP3 has no folders"),
    ]
    for body, error in cases:
        status, answer = await api.call("POST", url, body)
        assert status == 400 and error in answer["error"], (body, answer)
    assert env.store.sources.list() == []
    _, made = await api.call("POST", url, imaps(account, ca_pem))
    for body, error in [
        ({"protocol": "pop3"}, "the protocol of a source cannot change"),
        ({"interval": 1}, "interval must be 10 to 604800 seconds"),
    ]:
        status, answer = await api.call("PATCH", f"/api/v1/sources/{made['id']}", body)
        assert status == 400 and error in answer["error"], answer
    assert env.store.sources.get(made["id"]).settings.interval == 300
    assert all(account.password not in b for b in api.bodies)


async def test_a_domain_admin_is_refused_on_another_domains_source(
    api, env, mailbox, account, ca_pem
):
    _, made = await api.call(
        "POST", f"/api/v1/mailboxes/{mailbox.id}/sources", imaps(account, ca_pem)
    )
    env.store.admins.create("beta-admin", "domain-admin", ["beta.test"], PASSWORD)
    _, other = env.store.tokens.create("beta-admin", "t")
    sid = made["id"]
    for method, path, body in [
        ("GET", f"/api/v1/mailboxes/{mailbox.id}/sources", None),
        ("POST", f"/api/v1/mailboxes/{mailbox.id}/sources", imaps(account, ca_pem, name="x")),
        ("GET", f"/api/v1/sources/{sid}", None),
        ("PATCH", f"/api/v1/sources/{sid}", {"interval": 60}),
        ("DELETE", f"/api/v1/sources/{sid}", None),
        ("POST", f"/api/v1/sources/{sid}/run", None),
        ("POST", f"/api/v1/sources/{sid}/test", None),
    ]:
        status, answer = await api.call(method, path, body, token=other)
        assert status == 403, (method, path, status, answer)
    assert env.store.sources.list() == [env.store.sources.get(sid)]
    assert env.store.sources.get(sid).settings.interval == 300
    assert env.store.sources.get(sid).last_run is None
