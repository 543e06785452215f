"""Superadmins can read the /metrics token on the Connect page; nobody else ever sees it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from web import create_app

TOKEN = "Zq3-metrics-token-shown-to-superadmins-only"
SOURCE = "/var/lib/journal-gateway/secrets/metrics-token"
REVEAL = "/connect/metrics-token"


@pytest.fixture
def app(env):
    options = replace(env.options, metrics_token=TOKEN, metrics_token_source=SOURCE)
    return create_app(env.astore, options)


def reveals(env) -> list:
    return [e for e in env.store.audit.list() if e.action == "metrics.token-reveal"]


async def test_superadmin_reveals_the_token_on_click(superadmin, env):
    page = await superadmin.get("/connect")
    assert page.status == 200
    assert TOKEN not in page.body_text  # not in the page until asked for
    assert f'action="{REVEAL}"' in page.body_text and SOURCE in page.body_text
    assert "<script>" not in page.body_text and " onclick=" not in page.body_text
    shown = await superadmin.post(REVEAL, {})
    assert shown.status == 200
    assert TOKEN in shown.body_text
    assert "credentials_file" in shown.body_text  # the Prometheus scrape_config to copy
    assert shown.headers["Cache-Control"] == "no-store"
    assert "<script>" not in shown.body_text and " onclick=" not in shown.body_text
    [entry] = reveals(env)
    assert entry.actor == "root" and TOKEN not in entry.detail


async def test_the_reveal_needs_the_csrf_token(superadmin, env):
    response = await superadmin.post(REVEAL, {}, csrf=False)
    assert response.status == 403 and TOKEN not in response.body_text
    assert reveals(env) == []


@pytest.mark.parametrize(
    ("role", "scope"),
    [("viewer", []), ("viewer", ["alpha.test"]), ("domain-admin", ["alpha.test"])],
)
async def test_other_roles_never_see_it(make_console, env, domains, role, scope):
    console = await make_console(f"x-{role}-{len(scope)}", role, scope)
    page = await console.get("/connect")
    assert page.status == 200
    assert TOKEN not in page.body_text and REVEAL not in page.body_text
    assert SOURCE not in page.body_text
    refused = await console.post(REVEAL, {})
    assert refused.status == 403 and TOKEN not in refused.body_text
    api = await console.client.get("/api/v1/me")
    assert TOKEN not in await api.text()
    assert reveals(env) == []


async def test_no_token_no_button(aiohttp_client, env, make_console):
    """An app without a token (never the case under `gateway serve`) says /metrics is shut."""
    console = await make_console("root")
    # the module's `app` has a token; this one does not
    client = await aiohttp_client(create_app(env.astore, env.options))
    console.client = client
    await console.login("root")
    page = await console.get("/connect")
    assert REVEAL not in page.body_text
    assert "/metrics refuses every request" in page.body_text
    assert (await console.post(REVEAL, {})).status == 404
