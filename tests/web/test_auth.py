"""Sign in and out, TOTP enrolment with QR code and recovery codes."""

from __future__ import annotations

import re

import pyotp

from .conftest import PASSWORD


async def test_sign_in_and_out(make_console, env):
    env.store.admins.create("alice", "superadmin", [], PASSWORD)
    console = await make_console()
    page = await console.get("/login")
    assert page.status == 200
    assert '<label for="f-username">Name</label>' in page.body_text
    assert 'autocomplete="current-password"' in page.body_text
    response = await console.login("alice")
    assert response.status == 303 and response.headers["Location"] == "/"
    home = await console.client.get("/")
    assert str(home.url).endswith("/mailboxes")
    assert "alice" in await home.text()
    assert (await console.client.get("/login", allow_redirects=False)).status == 303
    out = await console.post("/logout", {})
    assert out.status == 303 and out.headers["Location"] == "/login"
    assert not await console.signed_in()
    actions = [e.action for e in env.store.audit.list(target="alice")]
    assert actions[:2] == ["admin.logout", "admin.login"]


async def test_sign_in_returns_to_the_page_asked_for(make_console, env):
    env.store.admins.create("bob", "superadmin", [], PASSWORD)
    console = await make_console()
    first = await console.client.get("/audit", allow_redirects=False)
    assert first.headers["Location"] == "/login?next=/audit"
    page = await console.get(first.headers["Location"])
    assert 'name="next" value="/audit"' in page.body_text
    response = await console.post(
        "/login", {"username": "bob", "password": PASSWORD, "next": "/audit"}
    )
    assert response.headers["Location"] == "/audit"


async def enrol(console, env, name: str) -> tuple[str, list[str]]:
    page = await console.get("/settings/totp")
    assert 'src="data:image/svg+xml' in page.body_text  # QR code rendered locally
    secret = re.search(r'id="totp-secret" data-secret>([A-Z2-7]+)<', page.body_text).group(1)
    wrong = await console.post("/settings/totp", {"code": "000000"})
    assert wrong.status == 400 and 'id="code-error"' in wrong.body_text
    code = pyotp.TOTP(secret).at(env.clock.now)
    done = await console.post("/settings/totp", {"code": code})
    assert done.status == 200 and "Your recovery codes" in done.body_text
    codes = re.findall(r"<li>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</li>", done.body_text)
    assert len(codes) == 10
    return secret, codes


async def test_totp_enrolment_and_sign_in(make_console, env):
    console = await make_console("carol")
    secret, codes = await enrol(console, env, "carol")
    stored_secret, hashes = env.store.admins.totp("carol")
    assert stored_secret == secret and len(hashes) == 10
    assert not any(code in "".join(hashes) for code in codes)  # hashed at rest
    await console.post("/logout", {})
    env.clock.now += 60
    without = await console.login("carol")
    assert without.status == 401
    wrong = await console.login("carol", code="123456")
    assert wrong.status == 401
    code = pyotp.TOTP(secret).at(env.clock.now)
    ok = await console.login("carol", code=code)
    assert ok.status == 303
    await console.post("/logout", {})
    replay = await console.login("carol", code=code)
    assert replay.status == 401  # a code works once
    recovery = await console.login("carol", code=codes[0].upper())
    assert recovery.status == 303
    assert len(env.store.admins.totp("carol")[1]) == 9
    await console.post("/logout", {})
    assert (await console.login("carol", code=codes[0])).status == 401  # used up


async def test_totp_can_be_turned_off_with_the_password(make_console, env):
    console = await make_console("dave")
    await enrol(console, env, "dave")
    page = await console.get("/settings/totp")
    assert "Two-factor sign-in is on" in page.body_text
    wrong = await console.post("/settings/totp/disable", {"password": "nope"})
    assert wrong.status == 400 and 'id="password-error"' in wrong.body_text
    ok = await console.post("/settings/totp/disable", {"password": PASSWORD})
    assert ok.status == 303 and env.store.admins.totp("dave")[0] is None
