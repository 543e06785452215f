"""Headers, CSRF, cross-site refusal, cookies, session lifetime, throttling, escaping."""

from __future__ import annotations

import ast
from pathlib import Path

from aiohttp import web

from storage import open_store
from storage.async_store import AsyncStore
from tests.support.argon import FAST_KDF, FAST_PASSWORDS
from web import WebOptions, create_app
from web.security import CSP

from .conftest import PASSWORD, csrf_of

WEB = Path(__file__).resolve().parents[2] / "web"


def assert_security_headers(response) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == CSP
    assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
    assert "unsafe-inline" not in CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


async def test_security_headers_on_every_page(superadmin, make_console, domains, env, app):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    paths = [
        "/",
        "/login",
        "/healthz",
        "/readyz",
        "/metrics",
        "/nowhere",
        "/static/app.css",
        "/static/app.js",
        "/api/v1/openapi.json",
        "/api/v1/me",
    ]
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method == "GET" and "{" not in path and not path.startswith("/static"):
            paths.append(path)
    paths += [f"/mailboxes/{mailbox.id}", f"/mailboxes/{mailbox.id}/settings"]
    for path in paths:
        response = await superadmin.client.get(path, allow_redirects=False)
        assert_security_headers(response)
        if not path.startswith("/static/"):
            assert response.headers["Cache-Control"] == "no-store", path
    anonymous = await make_console()
    for path in ("/login", "/mailboxes", "/nowhere"):
        assert_security_headers(await anonymous.client.get(path, allow_redirects=False))
    forbidden = await superadmin.post("/domains", {"name": "x.test"}, csrf=False)
    assert forbidden.status == 403
    assert_security_headers(forbidden)


async def test_no_inline_script_or_style_in_pages(superadmin, domains, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    for path in ("/mailboxes", f"/mailboxes/{mailbox.id}", "/settings", "/settings/totp"):
        html = (await superadmin.get(path)).body_text
        assert "<script>" not in html and " onclick=" not in html and " style=" not in html
        assert '<script src="/static/app.js" defer></script>' in html


async def test_post_without_csrf_token_is_refused(superadmin, env):
    response = await superadmin.post("/domains", {"name": "new.test"}, csrf=False)
    assert response.status == 403
    assert "did not come from this console" in response.body_text
    assert env.store.domains.list() == []


async def test_post_with_a_wrong_csrf_token_is_refused(superadmin):
    response = await superadmin.post(
        "/domains", {"name": "new.test", "csrf_token": "0" * 64}, csrf=False
    )
    assert response.status == 403


async def test_csrf_token_of_another_session_is_refused(superadmin, make_console):
    other = await make_console("second")
    response = await superadmin.post(
        "/domains", {"name": "new.test", "csrf_token": other.csrf}, csrf=False
    )
    assert response.status == 403


async def test_cross_site_origin_is_refused_even_with_a_token(superadmin):
    response = await superadmin.post(
        "/domains", {"name": "new.test"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status == 403
    response = await superadmin.post(
        "/domains", {"name": "new.test"}, headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"}
    )
    assert response.status == 403
    # Origin: null alone is what a same-origin form sends under Referrer-Policy no-referrer
    response = await superadmin.post(
        "/domains",
        {"name": "new.test"},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status == 303
    response = await superadmin.post(
        "/domains", {"name": "x.test"}, headers={"Origin": "null"}, csrf=False
    )
    assert response.status == 403  # and then the token decides


async def test_cross_site_fetch_metadata_is_refused(superadmin):
    for value in ("cross-site", "same-site"):
        response = await superadmin.post(
            "/domains", {"name": "new.test"}, headers={"Sec-Fetch-Site": value}
        )
        assert response.status == 403, value


async def test_same_origin_headers_are_accepted(superadmin, env):
    host = f"{superadmin.client.host}:{superadmin.client.port}"
    response = await superadmin.post(
        "/domains",
        {"name": "new.test"},
        headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status == 303
    assert [d.name for d in env.store.domains.list()] == ["new.test"]


async def test_login_form_needs_its_csrf_token(make_console, env):
    env.store.admins.create("eve", "viewer", [], PASSWORD)
    console = await make_console()
    response = await console.post("/login", {"username": "eve", "password": PASSWORD}, csrf=False)
    assert response.status == 403


async def test_session_cookie_flags(aiohttp_client, env, web_store):
    web_store.admins.create("root", "superadmin", [], PASSWORD)
    options = WebOptions(data_dir=env.data_dir, secure_cookies=True, clock=env.clock)
    client = await aiohttp_client(create_app(env.astore, options))
    page = await client.get("/login")
    pre = page.headers["Set-Cookie"]
    assert pre.startswith("__Host-jgw-pre=") and "Secure" in pre and "HttpOnly" in pre
    assert "SameSite=Strict" in pre and "Path=/" in pre
    token = csrf_of(await page.text())
    pre_value = pre.split(";")[0].split("=", 1)[1]
    response = await client.post(
        "/login",
        data={"username": "root", "password": PASSWORD, "csrf_token": token},
        cookies={"__Host-jgw-pre": pre_value},
        allow_redirects=False,
    )
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-jgw-session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    raw = cookie.split(";")[0].split("=", 1)[1]
    # only the hash is stored
    rows = web_store.db.conn().execute("SELECT hash FROM admin_sessions").fetchall()
    assert rows and all(raw not in r[0] for r in rows)
    assert raw.encode() not in (env.data_dir / "gateway.db").read_bytes()


async def test_session_ends_after_idle_timeout(superadmin, env):
    env.clock.now += env.options.session_idle_timeout - 5
    assert (await superadmin.client.get("/settings", allow_redirects=False)).status == 200
    env.clock.now += env.options.session_idle_timeout - 5  # still active: it was touched
    assert (await superadmin.client.get("/settings", allow_redirects=False)).status == 200
    env.clock.now += env.options.session_idle_timeout + 1
    response = await superadmin.client.get("/settings", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"].startswith("/login")


async def test_session_ends_after_max_age_even_when_active(superadmin, env):
    step = env.options.session_idle_timeout / 2
    for _ in range(int(env.options.session_max_age / step) + 1):
        env.clock.now += step
        response = await superadmin.client.get("/settings", allow_redirects=False)
    assert response.status == 302


async def test_sign_out_everywhere_ends_all_sessions(make_console):
    first = await make_console("root")
    second = await make_console("root")
    assert await second.signed_in()
    response = await first.post("/settings/signout-everywhere", {})
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert not await first.signed_in()
    assert not await second.signed_in()


async def test_disabling_an_admin_ends_its_sessions(make_console, env):
    victim = await make_console("victim", "domain-admin")
    root = await make_console("root")
    response = await root.post("/admins/victim", {"role": "domain-admin", "disabled": "yes"})
    assert response.status == 303
    assert not await victim.signed_in()
    relog = await victim.login("victim")
    assert relog.status == 401


async def test_sign_in_is_throttled(make_console, env):
    env.store.admins.create("target", "superadmin", [], PASSWORD)
    console = await make_console()
    for _ in range(env.options.login_max_failures):
        response = await console.login("target", "wrong password")
        assert response.status == 401
        assert "Wrong name, password or authentication code." in response.body_text
    response = await console.login("target", PASSWORD)  # right, but locked
    assert response.status == 429
    assert "Too many failed sign-ins" in response.body_text
    env.clock.now += env.options.login_window + 1
    response = await console.login("target", PASSWORD)
    assert response.status == 303
    actions = [e.action for e in env.store.audit.list(target="target")]
    assert "admin.login-throttled" in actions and "admin.login-failed" in actions


async def test_unknown_name_gets_the_same_answer(make_console, env):
    console = await make_console()
    response = await console.login("nobody-here", PASSWORD)
    assert response.status == 401
    assert "Wrong name, password or authentication code." in response.body_text


async def test_next_parameter_stays_local(make_console, env):
    env.store.admins.create("n", "superadmin", [], PASSWORD)
    console = await make_console()
    await console.get("/login")
    response = await console.post(
        "/login", {"username": "n", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert response.headers["Location"] == "/"


async def test_mailbox_name_with_script_is_escaped(superadmin, domains, env):
    evil = "<script>alert(1)</script>"
    mailbox, _ = env.store.mailboxes.create("alpha.test", name=evil, description=evil, actor=None)
    for path in (
        "/mailboxes",
        f"/mailboxes/{mailbox.id}",
        f"/mailboxes/{mailbox.id}/settings",
        f"/mailboxes/{mailbox.id}/delete",
    ):
        html = (await superadmin.get(path)).body_text
        assert evil not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


async def test_web_never_imports_gateway():
    for path in WEB.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name != "gateway" and not name.startswith("gateway."), (path, name)


async def test_web_does_not_depend_on_sqlite_details():
    for path in WEB.rglob("*.py"):
        text = path.read_text()
        assert "storage.sqlite" not in text and "import sqlite3" not in text, path


async def test_metrics_extension_point(aiohttp_client, env):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="jgw_up 1\n")

    options = WebOptions(
        data_dir=env.data_dir, secure_cookies=False, metrics_token="s3cret", metrics_handler=handler
    )
    client = await aiohttp_client(create_app(env.astore, options))
    assert (await client.get("/metrics")).status == 401
    bad = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert bad.status == 401
    good = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert good.status == 200 and await good.text() == "jgw_up 1\n"


async def test_metrics_without_handler_is_404_and_healthz_is_ok(make_console):
    console = await make_console()
    assert (await console.client.get("/metrics")).status == 404
    health = await console.client.get("/healthz")
    assert health.status == 200 and await health.text() == "ok"


async def test_readyz_reports_the_callers_checks(aiohttp_client, make_console, env):
    console = await make_console()
    assert (await console.client.get("/readyz")).status == 404  # no check plugged in

    async def failing() -> dict[str, bool]:
        return {"store_writable": False, "smtp_listening": True}

    options = WebOptions(data_dir=env.data_dir, secure_cookies=False, readiness_check=failing)
    client = await aiohttp_client(create_app(env.astore, options))
    response = await client.get("/readyz")
    assert response.status == 503
    assert await response.json() == {
        "ready": False,
        "checks": {"store_writable": False, "smtp_listening": True},
    }


async def test_a_form_served_by_one_worker_is_accepted_by_another(superadmin, aiohttp_client, env):
    """Workers and nodes share the store, and with it the CSRF key (no per-process key)."""
    await superadmin.get("/settings")
    other_store = open_store(env.data_dir, kdf=FAST_KDF, password_hasher=FAST_PASSWORDS)
    other_astore = AsyncStore(other_store, max_workers=2)
    try:
        other = await aiohttp_client(create_app(other_astore, env.options))
        other.session.cookie_jar.update_cookies(
            {c.key: c.value for c in superadmin.client.session.cookie_jar}
        )
        response = await other.post(
            "/domains",
            data={"name": "second-worker.test", "csrf_token": superadmin.csrf},
            allow_redirects=False,
        )
        assert response.status == 303, await response.text()
        assert "second-worker.test" in [d.name for d in env.store.domains.list()]
        assert not (env.data_dir / "secrets" / "web-csrf.key").exists()  # not a node file
    finally:
        other_astore.close()


async def test_console_errors_are_pages(superadmin):
    missing = await superadmin.get("/no/such/page")
    assert missing.status == 404 and "There is nothing at this address." in missing.body_text
    wrong = await superadmin.client.put("/settings")
    assert wrong.status in (403, 405)  # refused before or by the router
