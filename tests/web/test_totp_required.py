"""Forced two-factor sign-in (`web.require_totp`) over HTTP: console pages and API tokens."""

from __future__ import annotations

import re
from dataclasses import replace

import pyotp
import pytest

from web import create_app

from .conftest import PASSWORD

NOTICE = "Your account must use two-factor sign-in. Turn it on now"
REFUSED = "Your account must use two-factor sign-in. Turn it on before doing anything else."


@pytest.fixture
def required() -> tuple[str, ...]:
    return ("domain-admin",)


@pytest.fixture
def app(env, required):
    """The app with web.require_totp set (overrides the conftest's app for this module)."""
    return create_app(env.astore, replace(env.options, require_totp=required))


def actions(env, name: str) -> list[str]:
    return [e.action for e in env.store.audit.list(target=name)]


async def enrol_with_pyotp(console, env) -> None:
    page = await console.get("/settings/totp")
    secret = re.search(r'id="totp-secret" data-secret>([A-Z2-7]+)<', page.body_text).group(1)
    done = await console.post("/settings/totp", {"code": pyotp.TOTP(secret).at(env.clock.now)})
    assert done.status == 200 and "Your recovery codes" in done.body_text


async def test_an_admin_who_must_enrol_sees_only_the_enrolment_page(make_console, env, domains):
    env.store.admins.create("dana", "domain-admin", ["alpha.test"], PASSWORD)
    console = await make_console()
    signed_in = await console.login("dana")
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/settings/totp"
    for path in ("/", "/mailboxes", "/settings", "/mailboxes/new", "/connect", "/domains"):
        response = await console.client.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"] == "/settings/totp", path
    page = await console.get("/settings/totp")
    assert page.status == 200 and NOTICE in page.body_text
    assert (await console.client.get("/static/app.css")).status == 200

    for path, form in (
        ("/mailboxes/new", {"domain": "alpha.test"}),
        ("/settings/language", {"language": "de"}),
        ("/settings/tokens", {"name": "ci"}),
    ):
        refused = await console.post(path, form)
        assert refused.status == 403, path
        assert REFUSED in refused.body_text and 'href="/settings/totp"' in refused.body_text
    assert env.store.mailboxes.list("alpha.test") == []
    assert env.store.tokens.list("dana") == []
    assert env.store.admins.get("dana").language == "en"
    audited = actions(env, "dana")
    assert "admin.totp-required-enrolment" in audited
    assert audited.count("admin.totp-required-refused") == 3

    await enrol_with_pyotp(console, env)
    listing = await console.get("/mailboxes")
    assert listing.status == 200 and str(listing.url).endswith("/mailboxes")
    assert "admin.totp-enable" in actions(env, "dana")


async def test_sign_out_works_before_enrolling(make_console, env):
    env.store.admins.create("dana", "domain-admin", [], PASSWORD)
    console = await make_console()
    await console.login("dana")
    out = await console.post("/logout", {})
    assert out.status == 303 and out.headers["Location"] == "/login"
    assert (await console.client.get("/settings/totp", allow_redirects=False)).status == 302


async def test_roles_not_listed_are_not_forced(make_console, env):
    console = await make_console("root", "superadmin")
    page = await console.get("/mailboxes")
    assert page.status == 200 and str(page.url).endswith("/mailboxes")


@pytest.mark.parametrize("required", [("all",)])
async def test_all_forces_every_role(make_console, env, required):
    env.store.admins.create("vera", "viewer", [], PASSWORD)
    console = await make_console()
    assert (await console.login("vera")).headers["Location"] == "/settings/totp"
    response = await console.client.get("/mailboxes", allow_redirects=False)
    assert response.headers["Location"] == "/settings/totp"


@pytest.mark.parametrize("required", [("superadmin",)])
async def test_an_enrolled_admin_cannot_turn_a_required_totp_off(make_console, env, required):
    console = await make_console("root", "superadmin")
    await enrol_with_pyotp(console, env)
    page = await console.get("/settings/totp")
    assert "Your account must use it, so it cannot be turned off." in page.body_text
    assert 'action="/settings/totp/disable"' not in page.body_text
    refused = await console.post("/settings/totp/disable", {"password": PASSWORD})
    assert refused.status == 303
    shown = await console.get(refused.headers["Location"])
    assert "Your account must use two-factor sign-in: it cannot be turned off." in shown.body_text
    assert env.store.admins.get("root").totp_enabled


async def test_api_tokens_of_an_admin_who_must_enrol_get_403(aiohttp_client, app, env, domains):
    env.store.admins.create("robot", "domain-admin", ["alpha.test"], PASSWORD)
    _, raw = env.store.tokens.create("robot", "ci")
    client = await aiohttp_client(app)
    headers = {"Authorization": f"Bearer {raw}"}
    for method, path in (
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/mailboxes"),
        ("POST", "/api/v1/mailboxes"),
    ):
        response = await client.request(
            method, path, headers=headers, json={"domain": "alpha.test"}
        )
        assert response.status == 403, path
        body = await response.json()
        assert body["error"].startswith("two-factor enrolment is required"), body
    assert env.store.mailboxes.list("alpha.test") == []
    assert actions(env, "robot").count("admin.totp-required-refused") == 3
    assert (await client.get("/api/v1/openapi.json")).status == 200  # public stays public

    env.store.admins.set_totp("robot", pyotp.random_base32(), [])
    assert (await client.get("/api/v1/me", headers=headers)).status == 200


async def test_without_the_option_nobody_is_forced(aiohttp_client, env):
    """The default ([]): the old behaviour, for console and API."""
    client = await aiohttp_client(create_app(env.astore, env.options))
    env.store.admins.create("robot", "viewer", [], PASSWORD)
    _, raw = env.store.tokens.create("robot", "ci")
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status == 200
