"""The JSON API under /api/v1 and its OpenAPI document."""

from __future__ import annotations

import re

import pytest

from storage.passphrase import looks_valid
from storage.timefmt import iso_utc

from .conftest import PASSWORD, deliver


@pytest.fixture
async def api(aiohttp_client, app, env, domains):
    """A client with a superadmin token, and a factory for other roles' tokens."""
    env.store.admins.create("robot", "superadmin", [], PASSWORD)
    _, raw = env.store.tokens.create("robot", "ci")
    client = await aiohttp_client(app)
    client.headers = {"Authorization": f"Bearer {raw}"}
    return client


async def call(api, method: str, path: str, **kwargs):
    response = await api.request(method, path, headers=api.headers, **kwargs)
    body = await response.json() if response.content_type == "application/json" else None
    return response.status, body


async def test_openapi_matches_the_routes(app, aiohttp_client):
    client = await aiohttp_client(app)
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.")
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    actual = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource.canonical.startswith("/api/") and route.method != "HEAD"
    }
    assert documented == actual
    for path, item in document["paths"].items():
        params = {p["name"] for p in item.get("parameters", [])}
        assert params == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}, path
        for method, op in item.items():
            if method != "parameters":
                assert op["summary"] and op["responses"], (path, method)


async def test_me_and_stats(api, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    deliver(env.store, mailbox.id)
    status, me = await call(api, "GET", "/api/v1/me")
    assert status == 200 and me["name"] == "robot" and me["role"] == "superadmin"
    status, stats = await call(api, "GET", "/api/v1/stats")
    assert stats == {
        "domains": 2,
        "mailboxes": 1,
        "by_status": {"active": 1},
        "messages": 1,
        "bytes": stats["bytes"],
        "received_24h": 1,
    }
    assert stats["bytes"] > 0


async def test_domains(api, env):
    status, body = await call(api, "POST", "/api/v1/domains", json={"name": "Gamma.test"})
    assert status == 201 and body["name"] == "gamma.test"
    status, body = await call(api, "POST", "/api/v1/domains", json={"name": "gamma.test"})
    assert status == 409 and "already exists" in body["error"]
    status, body = await call(api, "POST", "/api/v1/domains", json={"name": "no way"})
    assert status == 400
    status, body = await call(api, "POST", "/api/v1/domains", data=b"not json")
    assert status == 400 and body["error"] == "the body must be a JSON object"
    status, body = await call(api, "GET", "/api/v1/domains")
    assert [d["name"] for d in body] == ["alpha.test", "beta.test", "gamma.test"]
    env.store.mailboxes.create("gamma.test", actor=None)
    status, _ = await call(api, "DELETE", "/api/v1/domains/gamma.test")
    assert status == 409
    status, _ = await call(api, "DELETE", "/api/v1/domains/beta.test")
    assert status == 204
    status, _ = await call(api, "DELETE", "/api/v1/domains/beta.test")
    assert status == 404


async def test_mailbox_lifecycle(api, env, caplog):
    status, created = await call(
        api,
        "POST",
        "/api/v1/mailboxes",
        json={
            "domain": "alpha.test",
            "name": "Acme",
            "aliases": ["j@alpha.test"],
            "quota": 1000,
        },
    )
    assert status == 201 and looks_valid(created["passphrase"])
    mailbox_id = created["id"]
    env.store.keys.unlock(mailbox_id, created["passphrase"])
    status, body = await call(api, "GET", f"/api/v1/mailboxes/{mailbox_id}")
    assert status == 200 and "passphrase" not in body
    assert body["aliases"] == ["j@alpha.test"] and body["sealed_messages"] == 0
    status, body = await call(api, "GET", "/api/v1/mailboxes/j@alpha.test")
    assert status == 200 and body["id"] == mailbox_id
    status, listing = await call(api, "GET", "/api/v1/mailboxes?domain=alpha.test")
    assert [m["id"] for m in listing] == [mailbox_id]
    assert all("passphrase" not in m for m in listing)
    status, body = await call(
        api,
        "PATCH",
        f"/api/v1/mailboxes/{mailbox_id}",
        json={"status": "hold", "protocols": ["imap"], "allowed_networks": ["192.0.2.0/24"]},
    )
    assert status == 200 and body["status"] == "hold" and body["protocols"] == ["imap"]
    for bad in (
        {"status": "sleeping"},
        {"quota": -1},
        {"color": "red"},
        {"protocols": ["smtp"]},
        {"allowed_networks": ["nope"]},
    ):
        status, body = await call(api, "PATCH", f"/api/v1/mailboxes/{mailbox_id}", json=bad)
        assert status == 400, bad
    status, body = await call(
        api, "POST", f"/api/v1/mailboxes/{mailbox_id}/aliases", json={"address": "k@alpha.test"}
    )
    assert status == 201 and "k@alpha.test" in body["aliases"]
    status, _ = await call(
        api, "POST", f"/api/v1/mailboxes/{mailbox_id}/aliases", json={"address": "k@alpha.test"}
    )
    assert status == 409
    status, body = await call(api, "DELETE", f"/api/v1/mailboxes/{mailbox_id}/aliases/k@alpha.test")
    assert status == 200 and "k@alpha.test" not in body["aliases"]
    deliver(env.store, mailbox_id)
    status, reset = await call(api, "POST", f"/api/v1/mailboxes/{mailbox_id}/reset-passphrase")
    assert status == 200 and reset["sealed_messages"] == 1 and looks_valid(reset["passphrase"])
    status, changed = await call(
        api,
        "POST",
        f"/api/v1/mailboxes/{mailbox_id}/change-passphrase",
        json={"current": reset["passphrase"]},
    )
    assert status == 200 and looks_valid(changed["passphrase"])
    status, body = await call(
        api,
        "POST",
        f"/api/v1/mailboxes/{mailbox_id}/change-passphrase",
        json={"current": reset["passphrase"]},
    )
    assert status == 400 and body["error"] == "wrong passphrase"
    status, body = await call(api, "DELETE", f"/api/v1/mailboxes/{mailbox_id}")
    assert status == 400 and "confirm" in body["error"]
    status, body = await call(api, "DELETE", f"/api/v1/mailboxes/{mailbox_id}?confirm={mailbox_id}")
    assert status == 200 and body["messages_destroyed"] == 1
    status, body = await call(api, "GET", f"/api/v1/mailboxes/{mailbox_id}")
    assert status == 404 and body == {"error": "no such mailbox"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (created["passphrase"], reset["passphrase"], changed["passphrase"]):
        assert secret not in logged
    events = [e for e in env.store.audit.list(target=mailbox_id)]
    assert {e.action for e in events} >= {
        "mailbox.create",
        "mailbox.update",
        "mailbox.delete",
        "mailbox.passphrase-reset",
    }
    assert all("api:tok-" in e.source for e in events if e.actor == "robot")


async def test_delete_refuses_an_active_mailbox(api, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    status, body = await call(api, "DELETE", f"/api/v1/mailboxes/{mailbox.id}?confirm={mailbox.id}")
    assert status == 409 and env.store.mailboxes.find(mailbox.id)


async def test_create_errors(api):
    status, _ = await call(api, "POST", "/api/v1/mailboxes", json={"domain": "nowhere.test"})
    assert status == 404
    status, _ = await call(
        api, "POST", "/api/v1/mailboxes", json={"domain": "alpha.test", "aliases": "x@alpha.test"}
    )
    assert status == 400
    status, _ = await call(
        api, "POST", "/api/v1/mailboxes", json={"domain": "alpha.test", "status": "nope"}
    )
    assert status == 400
    status, _ = await call(api, "POST", "/api/v1/mailboxes", json=["domain"])
    assert status == 400


async def test_a_disabled_admins_token_stops_working(api, env):
    env.store.admins.update("robot", disabled=True)
    status, _ = await call(api, "GET", "/api/v1/me")
    assert status == 401


async def test_api_ignores_console_cookies(superadmin):
    response = await superadmin.client.get("/api/v1/me")
    assert response.status == 401


async def test_api_unknown_path_is_json_404(api):
    status, body = await call(api, "GET", "/api/v1/nothing")
    assert status == 404 and body == {"error": "not found"}


async def test_a_domain_admins_token_sees_only_its_domains(aiohttp_client, app, env, domains):
    env.store.admins.create("dom", "domain-admin", ["alpha.test"], PASSWORD)
    _, raw = env.store.tokens.create("dom", "script")
    inside, _ = env.store.mailboxes.create("alpha.test", actor=None)
    env.store.mailboxes.create("beta.test", actor=None)
    client = await aiohttp_client(app)
    headers = {"Authorization": f"Bearer {raw}"}
    listing = await (await client.get("/api/v1/mailboxes", headers=headers)).json()
    assert [m["id"] for m in listing] == [inside.id]
    names = await (await client.get("/api/v1/domains", headers=headers)).json()
    assert [d["name"] for d in names] == ["alpha.test"]
    stats = await (await client.get("/api/v1/stats", headers=headers)).json()
    assert stats["mailboxes"] == 1 and stats["domains"] == 1
    created = await client.post("/api/v1/mailboxes", json={"domain": "alpha.test"}, headers=headers)
    assert created.status == 201


async def test_wrong_method_is_a_json_405(api):
    status, body = await call(api, "PUT", "/api/v1/me")
    assert status == 405 and body == {"error": "method not allowed"}


ISO_UTC = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


async def test_every_time_is_iso_8601_utc_like_the_cli_json(api, env, app):
    """created/last_login in every response that carries them: the CLI's --json format."""
    times: list[tuple[str, object]] = []
    _, domain = await call(api, "POST", "/api/v1/domains", json={"name": "gamma.test"})
    times.append(("POST domains", domain["created"]))
    _, domains = await call(api, "GET", "/api/v1/domains")
    times += [("GET domains", d["created"]) for d in domains]
    _, created = await call(api, "POST", "/api/v1/mailboxes", json={"domain": "gamma.test"})
    mailbox_id = created["id"]
    assert created["last_login"] is None  # never logged in: null, not a string
    times.append(("POST mailboxes", created["created"]))
    env.store.login_clients.record(mailbox_id)
    path = f"/api/v1/mailboxes/{mailbox_id}"
    responses = [
        await call(api, "GET", "/api/v1/mailboxes"),
        await call(api, "GET", path),
        await call(api, "PATCH", path, json={"name": "renamed"}),
        await call(api, "POST", path + "/aliases", json={"address": "a1@gamma.test"}),
        await call(api, "DELETE", path + "/aliases/a1@gamma.test"),
    ]
    for _status, body in responses:
        for mailbox in body if isinstance(body, list) else [body]:
            times.append(("mailbox created", mailbox["created"]))
            times.append(("last_login", mailbox["last_login"]))
            times.append(("passphrase_changed", mailbox["passphrase_changed"]))
    assert len(times) > 10
    for where, value in times:
        assert isinstance(value, str) and re.match(ISO_UTC, value), (where, value)
    stored = env.store.mailboxes.get(mailbox_id)
    assert responses[1][1]["created"] == iso_utc(stored.created)
    assert responses[1][1]["last_login"] == iso_utc(stored.last_login)
    assert responses[1][1]["passphrase_changed"] == iso_utc(stored.passphrase_set_at)
    schema = (await (await api.get("/api/v1/openapi.json")).json())["components"]["schemas"]
    fields = [("Domain", "created"), ("DomainOverview", "last_login")]
    fields += [("Mailbox", name) for name in ("created", "last_login", "passphrase_changed")]
    fields += [("Source", name) for name in ("created", "last_run", "last_success")]
    for name, field in fields:
        prop = schema[name]["properties"][field]
        assert prop["format"] == "date-time" and "string" in str(prop["type"]), (name, field)
        assert "ISO 8601 UTC" in prop["description"], (name, field)
    time_like = {
        (name, field)
        for name, body in schema.items()
        for field in body.get("properties", {})
        if field in ("created", "last_login", "last_run", "last_success")
        or field.endswith(("_changed", "_at"))
    }
    assert time_like == set(fields)  # no time field left undocumented as a date-time
