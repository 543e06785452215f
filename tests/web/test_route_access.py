"""Every route of the app, called by every kind of caller: each needs the right role."""

from __future__ import annotations

import pytest
from aiohttp import web

from storage.sources import checked_settings

# The declared minimum level of every route. A new route must be added here.
EXPECTED = {
    ("GET", "/"): "viewer",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "self",
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/metrics"): "public",
    ("GET", "/domains"): "viewer",
    ("POST", "/domains"): "superadmin",
    ("POST", "/domains/{domain}/remove"): "superadmin",
    ("GET", "/mailboxes"): "viewer",
    ("GET", "/mailboxes/new"): "domain-admin",
    ("POST", "/mailboxes/new"): "domain-admin",
    ("POST", "/mailboxes/bulk"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/stored"): "domain-admin",
    ("GET", "/mailboxes/{mailbox_id}"): "viewer",
    ("GET", "/mailboxes/{mailbox_id}/settings"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/settings"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/aliases"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/aliases/remove"): "domain-admin",
    ("GET", "/mailboxes/{mailbox_id}/robot"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/robot"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/robot/clear"): "domain-admin",
    ("GET", "/mailboxes/{mailbox_id}/sources"): "viewer",
    ("POST", "/mailboxes/{mailbox_id}/sources"): "domain-admin",
    ("GET", "/mailboxes/{mailbox_id}/sources/{source_id}"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/sources/{source_id}"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/sources/{source_id}/remove"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/sources/{source_id}/run"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/sources/{source_id}/test"): "domain-admin",
    ("GET", "/mailboxes/{mailbox_id}/delete"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/delete"): "domain-admin",
    ("GET", "/mailboxes/{mailbox_id}/passphrase"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/passphrase/change"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/passphrase/reset"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/passphrase/recover"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/passphrase-policy"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/reset-lock"): "domain-admin",
    ("GET", "/connect"): "viewer",
    ("POST", "/connect/metrics-token"): "superadmin",
    ("GET", "/settings"): "viewer",
    ("POST", "/settings/language"): "self",
    ("POST", "/settings/password"): "self",
    ("POST", "/settings/password/generate"): "self",
    ("POST", "/settings/signout-everywhere"): "self",
    ("POST", "/settings/tokens"): "self",
    ("POST", "/settings/tokens/{token_id}/revoke"): "self",
    ("GET", "/settings/totp"): "viewer",
    ("POST", "/settings/totp"): "self",
    ("POST", "/settings/totp/disable"): "self",
    ("GET", "/admins"): "superadmin",
    ("POST", "/admins"): "superadmin",
    ("GET", "/admins/{name}"): "superadmin",
    ("POST", "/admins/{name}"): "superadmin",
    ("POST", "/admins/{name}/reset-totp"): "superadmin",
    ("POST", "/admins/{name}/reset-password"): "superadmin",
    ("POST", "/admins/{name}/signout"): "superadmin",
    ("POST", "/admins/{name}/tokens/{token_id}/revoke"): "superadmin",
    ("GET", "/audit"): "superadmin",
    ("GET", "/api/v1/openapi.json"): "public",
    ("GET", "/api/v1/me"): "viewer",
    ("GET", "/api/v1/stats"): "viewer",
    ("GET", "/api/v1/domains"): "viewer",
    ("POST", "/api/v1/domains"): "superadmin",
    ("DELETE", "/api/v1/domains/{domain}"): "superadmin",
    ("GET", "/api/v1/domains/overview"): "viewer",
    ("GET", "/api/v1/mailboxes"): "viewer",
    ("POST", "/api/v1/mailboxes"): "domain-admin",
    ("GET", "/api/v1/mailboxes/{mailbox_id}"): "viewer",
    ("PATCH", "/api/v1/mailboxes/{mailbox_id}"): "domain-admin",
    ("DELETE", "/api/v1/mailboxes/{mailbox_id}"): "domain-admin",
    ("POST", "/api/v1/mailboxes/{mailbox_id}/aliases"): "domain-admin",
    ("DELETE", "/api/v1/mailboxes/{mailbox_id}/aliases/{address}"): "domain-admin",
    ("GET", "/api/v1/mailboxes/{mailbox_id}/robot"): "viewer",
    ("PUT", "/api/v1/mailboxes/{mailbox_id}/robot"): "domain-admin",
    ("DELETE", "/api/v1/mailboxes/{mailbox_id}/robot"): "domain-admin",
    ("GET", "/api/v1/mailboxes/{mailbox_id}/sources"): "viewer",
    ("POST", "/api/v1/mailboxes/{mailbox_id}/sources"): "domain-admin",
    ("GET", "/api/v1/sources/{source_id}"): "viewer",
    ("PATCH", "/api/v1/sources/{source_id}"): "domain-admin",
    ("DELETE", "/api/v1/sources/{source_id}"): "domain-admin",
    ("POST", "/api/v1/sources/{source_id}/run"): "domain-admin",
    ("POST", "/api/v1/sources/{source_id}/test"): "domain-admin",
    ("POST", "/api/v1/mailboxes/{mailbox_id}/reset-passphrase"): "domain-admin",
    ("POST", "/api/v1/mailboxes/{mailbox_id}/change-passphrase"): "domain-admin",
    ("POST", "/api/v1/mailboxes/bulk/status"): "domain-admin",
    ("POST", "/api/v1/mailboxes/bulk/delete"): "domain-admin",
    ("POST", "/api/v1/mailboxes/export"): "domain-admin",
    ("GET", "/api/v1/mailboxes/{mailbox_id}/relays"): "viewer",
    ("POST", "/api/v1/mailboxes/{mailbox_id}/relays"): "domain-admin",
    ("DELETE", "/api/v1/mailboxes/{mailbox_id}/relays/{address}"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/relays"): "domain-admin",
    ("POST", "/mailboxes/{mailbox_id}/relays/remove"): "domain-admin",
}
RANK = {"viewer": 1, "self": 1, "domain-admin": 2, "superadmin": 3}
ROLE_RANK = {"viewer": 1, "domain-admin": 2, "superadmin": 3}


def app_routes(app: web.Application) -> dict[tuple[str, str], str | None]:
    out = {}
    for route in app.router.routes():
        if route.method == "HEAD" or isinstance(route.resource, web.StaticResource):
            continue
        path = route.resource.canonical
        handler_level = getattr(route.handler, "access_level", None)
        out[(route.method, path)] = handler_level
    return out


def test_every_route_declares_the_expected_level(app):
    assert app_routes(app) == EXPECTED


def test_static_files_are_the_only_undeclared_public_routes(app):
    for route in app.router.routes():
        if isinstance(route.resource, web.StaticResource):
            continue
        assert getattr(route.handler, "access_level", None), route


@pytest.fixture
async def world(env, domains, make_console):
    """alpha.test (the domain admin's), beta.test (not), a mailbox and a fetch source in
    each, tokens."""
    inside, _ = env.store.mailboxes.create("alpha.test", name="in", actor=None)
    outside, _ = env.store.mailboxes.create("beta.test", name="out", actor=None)
    env.store.admins.create("other", "viewer", [], "x" * 16)
    token, _ = env.store.tokens.create("other", "t")
    settings = checked_settings(protocol="imap", host="mail.example.net", username="u")
    sources = {
        f"{key}_source": env.store.sources.add(m.id, "src", settings, {"password": "p"})
        for key, m in (("inside", inside), ("outside", outside))
    }
    return {"inside": inside, "outside": outside, "token": token, **sources}


def fill(path: str, world, mailbox_key: str = "outside") -> str:
    mailbox = world[mailbox_key]
    return (
        path.replace("{domain}", "beta.test" if mailbox_key == "outside" else "alpha.test")
        .replace("{mailbox_id}", mailbox.id)
        .replace("{name}", "other")
        .replace("{token_id}", world["token"].id)
        .replace("{address}", "nobody@beta.test")
        .replace("{source_id}", world[f"{mailbox_key}_source"].id)
    )


async def call(console, method: str, path: str, api_token: str | None = None):
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        return await console.client.request(
            method, path, json={}, headers=headers, allow_redirects=False
        )
    if method == "GET":
        return await console.client.get(path, allow_redirects=False)
    return await console.post(path, {})


async def test_anonymous_is_sent_to_sign_in_or_gets_401(make_console, world):
    console = await make_console()
    for (method, path), level in EXPECTED.items():
        if level == "public":
            continue
        response = await call(console, method, fill(path, world))
        if path.startswith("/api/"):
            assert response.status == 401, (method, path)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        else:
            assert response.status in (302, 303), (method, path, response.status)
            assert response.headers["Location"].startswith("/login")


async def test_an_invalid_api_token_is_401(make_console, world):
    console = await make_console()
    response = await call(console, "GET", "/api/v1/me", api_token="jgw_nope")
    assert response.status == 401


@pytest.mark.parametrize("role", ["viewer", "domain-admin"])
async def test_each_role_is_refused_above_its_level(role, make_console, world, env):
    console = await make_console(f"a-{role}", role, ["alpha.test"])
    _, raw = env.store.tokens.create(f"a-{role}", "probe")
    for (method, path), level in EXPECTED.items():
        if level == "public":
            continue
        write = method != "GET"
        refused = RANK[level] > ROLE_RANK[role] or (role == "viewer" and write and level != "self")
        if not refused:
            continue
        response = await call(console, method, fill(path, world, "inside"), raw)
        assert response.status == 403, (role, method, path, response.status)


async def test_domain_admin_is_refused_outside_its_domains(make_console, world, env):
    console = await make_console("da", "domain-admin", ["alpha.test"])
    _, raw = env.store.tokens.create("da", "probe")
    checked = 0
    for (method, path), level in EXPECTED.items():
        if not any(k in path for k in ("{mailbox_id}", "{domain}", "{source_id}")):
            continue
        if level not in ("viewer", "domain-admin"):
            continue
        response = await call(console, method, fill(path, world, "outside"), raw)
        assert response.status == 403, (method, path, response.status)
        checked += 1
    assert checked == 46
    # and query parameters naming a foreign domain or mailbox
    for path in ("/mailboxes?domain=beta.test", f"/connect?mailbox={world['outside'].id}"):
        assert (await console.client.get(path)).status == 403, path
    r = await console.post("/mailboxes/new", {"domain": "beta.test", "name": "x"})
    assert r.status == 403
    api = {"Authorization": f"Bearer {raw}"}
    r = await console.client.post("/api/v1/mailboxes", json={"domain": "beta.test"}, headers=api)
    assert r.status == 403
    r = await console.client.get("/api/v1/mailboxes?domain=beta.test", headers=api)
    assert r.status == 403


async def test_viewer_with_domains_sees_only_those(make_console, world):
    console = await make_console("v", "viewer", ["alpha.test"])
    page = await console.get("/mailboxes")
    assert world["inside"].id in page.body_text
    assert world["outside"].id not in page.body_text
    assert (await console.client.get(f"/mailboxes/{world['outside'].id}")).status == 403
    assert (await console.client.get(f"/mailboxes/{world['inside'].id}")).status == 200


async def test_viewer_without_domains_sees_all_read_only(make_console, world):
    console = await make_console("v2", "viewer", [])
    page = await console.get("/mailboxes")
    assert world["inside"].id in page.body_text and world["outside"].id in page.body_text
    assert "Create mailbox" not in page.body_text
    detail = await console.get(f"/mailboxes/{world['outside'].id}")
    assert "/settings" in detail.body_text  # the nav link to "Your settings" only
    assert f"/mailboxes/{world['outside'].id}/delete" not in detail.body_text


async def test_superadmin_reaches_every_console_page(superadmin, world):
    for (method, path), _level in EXPECTED.items():
        if method != "GET" or path.startswith("/api/") or path in ("/metrics", "/readyz"):
            continue
        response = await superadmin.client.get(fill(path, world), allow_redirects=False)
        assert response.status in (200, 303), (path, response.status)
