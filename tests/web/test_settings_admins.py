"""Your settings (password, tokens, sessions), domains, admins and the audit log."""

from __future__ import annotations

import re

from .conftest import PASSWORD


async def test_change_own_password(make_console, env):
    console = await make_console("erin")
    other = await make_console("erin")
    bad = await console.post(
        "/settings/password",
        {"current_password": "wrong", "new_password": "short", "confirm_password": "short"},
    )
    assert bad.status == 400
    assert 'id="current_password-error"' in bad.body_text
    assert 'id="new_password-error"' in bad.body_text and "at least 12" in bad.body_text
    differ = await console.post(
        "/settings/password",
        {"current_password": PASSWORD, "new_password": "a" * 14, "confirm_password": "b" * 14},
    )
    assert 'id="confirm_password-error"' in differ.body_text
    ok = await console.post(
        "/settings/password",
        {
            "current_password": PASSWORD,
            "new_password": "new password 123",
            "confirm_password": "new password 123",
        },
    )
    assert ok.status == 303
    assert await console.signed_in() and not await other.signed_in()
    assert env.store.admins.verify_password("erin", "new password 123")


async def test_generate_a_random_password_shown_once(make_console, env):
    console = await make_console("frank")
    bad = await console.post("/settings/password/generate", {"current_password_generate": "x"})
    assert bad.status == 400
    ok = await console.post("/settings/password/generate", {"current_password_generate": PASSWORD})
    assert ok.status == 200 and ok.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="secret" data-secret>([^<]+)<', ok.body_text).group(1)
    assert env.store.admins.verify_password("frank", password)
    assert password not in (await console.get("/settings")).body_text


async def test_api_tokens_are_shown_once_and_revocable(make_console, env):
    console = await make_console("gina", "viewer")
    empty = await console.post("/settings/tokens", {"token_name": ""})
    assert empty.status == 400 and 'id="token_name-error"' in empty.body_text
    made = await console.post("/settings/tokens", {"token_name": "provisioning"})
    raw = re.search(r'id="secret" data-secret>(jgw_[^<]+)<', made.body_text).group(1)
    (token,) = env.store.tokens.list("gina")
    me = await console.client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert (await me.json())["name"] == "gina"
    page = await console.get("/settings")
    assert "provisioning" in page.body_text and raw not in page.body_text
    revoked = await console.post(f"/settings/tokens/{token.id}/revoke", {})
    assert revoked.status == 303
    me = await console.client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status == 401
    again = await console.post(f"/settings/tokens/{token.id}/revoke", {})
    assert again.status == 404


async def test_cannot_revoke_someone_elses_token(make_console, env):
    env.store.admins.create("owner", "viewer", [], PASSWORD)
    token, _ = env.store.tokens.create("owner", "theirs")
    console = await make_console("henry", "viewer")
    response = await console.post(f"/settings/tokens/{token.id}/revoke", {})
    assert response.status == 404 and env.store.tokens.list("owner")


async def test_language_switches_immediately(make_console, env):
    console = await make_console("ines", "viewer")
    bad = await console.post("/settings/language", {"language": "xx"})
    assert bad.status == 400
    response = await console.post("/settings/language", {"language": "de"})
    page = await console.get(response.headers["Location"])
    assert '<html lang="de">' in page.body_text
    assert "Sprache geändert." in page.body_text and "Abmelden" in page.body_text
    assert env.store.admins.get("ines").language == "de"
    mailboxes = await console.get("/mailboxes")
    assert "Postfächer" in mailboxes.body_text


async def test_anonymous_pages_follow_accept_language(make_console):
    console = await make_console()
    page = await console.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert '<html lang="de">' in page.body_text and "Anmelden" in page.body_text
    page = await console.get("/login", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in page.body_text


async def test_domains_add_and_remove(superadmin, env):
    bad = await superadmin.post("/domains", {"name": "not a domain"})
    assert bad.status == 400 and 'id="name-error"' in bad.body_text
    ok = await superadmin.post("/domains", {"name": "Example.TEST"})
    assert ok.status == 303 and [d.name for d in env.store.domains.list()] == ["example.test"]
    dup = await superadmin.post("/domains", {"name": "example.test"})
    assert dup.status == 409
    mailbox, _ = env.store.mailboxes.create("example.test", actor=None)
    full = await superadmin.post("/domains/example.test/remove", {})
    page = await superadmin.get(full.headers["Location"])
    assert "still has mailboxes" in page.body_text
    env.store.mailboxes.delete(mailbox.id)
    gone = await superadmin.post("/domains/example.test/remove", {})
    assert gone.status == 303 and env.store.domains.list() == []
    missing = await superadmin.post("/domains/example.test/remove", {})
    assert missing.status == 404


async def test_admins_create_edit_disable_and_reset(superadmin, domains, env):
    page = await superadmin.get("/admins")
    assert "Domain admin" in page.body_text
    bad = await superadmin.post("/admins", {"name": "bad name!", "role": "viewer"})
    assert bad.status == 400 and 'id="name-error"' in bad.body_text
    made = await superadmin.post(
        "/admins",
        [("name", "jo"), ("role", "domain-admin"), ("domains", "alpha.test"), ("domains", "zzz")],
    )
    assert made.status == 200 and "Password for jo" in made.body_text
    password = re.search(r'id="secret" data-secret>([^<]+)<', made.body_text).group(1)
    jo = env.store.admins.verify_password("jo", password)
    assert jo.role == "domain-admin" and jo.domains == ("alpha.test",)
    dup = await superadmin.post("/admins", {"name": "jo", "role": "viewer"})
    assert dup.status == 409
    edit = await superadmin.post("/admins/jo", [("role", "viewer"), ("domains", "beta.test")])
    assert edit.status == 303
    assert env.store.admins.get("jo").role == "viewer"
    assert env.store.admins.get("jo").domains == ("beta.test",)
    env.store.admins.set_totp("jo", "JBSWY3DPEHPK3PXP", [])
    assert (await superadmin.post("/admins/jo/reset-totp", {})).status == 303
    assert env.store.admins.totp("jo")[0] is None
    reset = await superadmin.post("/admins/jo/reset-password", {})
    new = re.search(r'id="secret" data-secret>([^<]+)<', reset.body_text).group(1)
    assert env.store.admins.verify_password("jo", new)
    assert (await superadmin.post("/admins/jo/signout", {})).status == 303
    self_demote = await superadmin.post("/admins/root", {"role": "viewer"})
    assert (
        self_demote.status == 400 and "cannot demote or disable yourself" in self_demote.body_text
    )
    assert (await superadmin.client.get("/admins/nobody")).status == 404
    token, _ = env.store.tokens.create("jo", "script")
    assert (await superadmin.post(f"/admins/jo/tokens/{token.id}/revoke", {})).status == 303
    assert env.store.tokens.list("jo") == []
    actions = {e.action for e in env.store.audit.list(target="jo")}
    assert {"admin.create", "admin.update", "admin.totp-reset", "admin.password-reset"} <= actions


async def test_audit_log_filters_and_pages(superadmin, env):
    for n in range(105):
        env.store.audit.record("retrieval", "pop3.login", f"mbx-{n:03d}", "", "192.0.2.1")
    env.store.audit.record("root", "domain.add", "x.test")
    page = await superadmin.get("/audit")
    assert "domain.add" in page.body_text and "Older entries" in page.body_text
    older = re.search(r'href="(/audit\?before=\d+)"', page.body_text).group(1)
    assert "mbx-000" in (await superadmin.get(older)).body_text
    filtered = await superadmin.get("/audit?actor=root&action=domain")
    assert "x.test" in filtered.body_text and "<code>pop3.login</code>" not in filtered.body_text
    by_target = await superadmin.get("/audit?target=mbx-042")
    assert by_target.body_text.count("<code>pop3.login</code>") == 1
