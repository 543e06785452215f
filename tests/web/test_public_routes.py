"""Nothing unauthenticated names a mailbox, a domain or an address; /metrics needs its token.

The app gets a metrics handler and a readiness check that *would* list every mailbox,
as the gateway's do, so a route left open shows up here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from web import create_app
from web.app import STATIC_DIR

from .conftest import PASSWORD

TOKEN = "metrics-token-for-the-test-0123456789"


@pytest.fixture
def tenants(env) -> dict:
    """Two customers with a mailbox and an alias each: every name a leak would show."""
    names: set[str] = set()
    for domain in ("customer-alpha.example", "customer-beta.example"):
        env.store.domains.add(domain)
        names.add(domain)
        mailbox, _ = env.store.mailboxes.create(
            domain, name=f"Journal of {domain}", aliases=[f"journal@{domain}"], actor=None
        )
        names.update([mailbox.id, mailbox.address, *mailbox.addresses])
    env.store.admins.create("root", "superadmin", [], PASSWORD)
    return {"names": names, "mailboxes": env.store.mailboxes.list()}


@pytest.fixture(params=[TOKEN, ""], ids=["token", "no-token"])
def leaky_app(request, env, tenants):
    """The app wired as `gateway serve` wires it: metrics and readiness name mailboxes.
    Also with no token at all, which must leave /metrics closed, not open."""

    async def metrics(request: web.Request) -> web.Response:
        lines = [
            f'jgw_messages{{mailbox="{m.id}",domain="{m.domain}"}} 0' for m in tenants["mailboxes"]
        ]
        return web.Response(text="\n".join(lines) + "\n")

    async def ready() -> dict[str, bool]:
        return {"store_writable": True, "smtp_listening": True}

    options = replace(env.options, metrics_handler=metrics, readiness_check=ready)
    return create_app(env.astore, replace(options, metrics_token=request.param))


def public_paths(app: web.Application) -> list[tuple[str, str]]:
    """Every route declared public, and every static file."""
    found = []
    for route in app.router.routes():
        if isinstance(route.resource, web.StaticResource) or route.method == "HEAD":
            continue
        if getattr(route.handler, "access_level", None) == "public":
            found.append((route.method, route.resource.canonical))
    found += [("GET", f"/static/{f.name}") for f in sorted(Path(STATIC_DIR).iterdir())]
    return found


def assert_names_nobody(names: set[str], where: str, response, body: bytes) -> None:
    text = body.decode("utf-8", "replace").lower()
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items()).lower()
    for name in names:
        assert name.lower() not in text, (where, name)
        assert name.lower() not in headers, (where, name)


async def test_no_unauthenticated_response_names_a_tenant(aiohttp_client, leaky_app, tenants):
    client = await aiohttp_client(leaky_app)
    names = tenants["names"]
    calls = [(m, p, {}) for m, p in public_paths(leaky_app)]
    calls += [
        ("GET", "/metrics", {"Authorization": "Bearer wrong"}),
        ("GET", "/metrics", {"Authorization": f"Basic {TOKEN}"}),
        ("GET", "/metrics", {"Authorization": "Bearer "}),
        ("GET", "/nowhere", {}),  # 404 page
        ("PUT", "/login", {}),  # 405
        ("POST", "/domains", {"Origin": "https://evil.example"}),  # 403
        ("GET", "/api/v1/mailboxes", {}),  # 401
        ("GET", "/api/v1/mailboxes", {"Authorization": "Bearer jgw_nope"}),
        ("GET", "/mailboxes", {}),  # to the sign-in page
    ]
    statuses = set()
    for method, path, headers in calls:
        response = await client.request(method, path, headers=headers, allow_redirects=False)
        body = await response.read()
        statuses.add(response.status)
        assert_names_nobody(names, f"{method} {path} {headers}", response, body)
    assert {200, 302, 401, 403, 404, 405} <= statuses
    assert ("GET", "/metrics") in [(m, p) for m, p, _h in calls]


async def test_a_mailbox_url_tells_anonymous_nothing(aiohttp_client, leaky_app, tenants):
    """The answer for a real mailbox id is the answer for a made-up one."""
    client = await aiohttp_client(leaky_app)
    real = tenants["mailboxes"][0].id
    fake = "mbx-" + "0" * 20
    for template in ("/mailboxes/{}", "/mailboxes/{}/settings", "/api/v1/mailboxes/{}"):
        answers = []
        for mailbox_id in (real, fake):
            r = await client.get(template.format(mailbox_id), allow_redirects=False)
            body = (await r.text()).replace(mailbox_id, "ID")
            answers.append(
                (r.status, r.headers.get("Location", "").replace(mailbox_id, "ID"), body)
            )
        assert answers[0][:2] == answers[1][:2], template
        assert len(answers[0][2]) == len(answers[1][2]), template


async def test_metrics_needs_the_token(aiohttp_client, env, tenants):
    client = await aiohttp_client(create_app(env.astore, _options(env, TOKEN)))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await client.get("/metrics", headers=headers)
        assert response.status == 401, headers
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert await response.json() == {"error": "unauthorized"}
    good = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert good.status == 200 and await good.text() == "jgw_up 1\n"
    lower = await client.get("/metrics", headers={"Authorization": f"bearer  {TOKEN} "})
    assert lower.status == 200


async def test_metrics_without_a_token_is_closed_not_open(aiohttp_client, env):
    """An app given no token (an embedding that forgot it) refuses every scrape."""
    client = await aiohttp_client(create_app(env.astore, _options(env, "")))
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer"}):
        assert (await client.get("/metrics", headers=headers)).status == 401, headers


def _options(env, token: str):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="jgw_up 1\n")

    return replace(env.options, metrics_handler=handler, metrics_token=token)
