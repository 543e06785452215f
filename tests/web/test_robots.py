"""The robot in the console and the API: texts escaped, CR/LF in the subject refused
with a clear error, bounded lengths, domain scope."""

from __future__ import annotations

from .conftest import PASSWORD


async def _box(env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Desk", actor=None)
    return mailbox


async def test_console_sets_shows_escaped_and_clears(env, domains, superadmin):
    box = await _box(env)
    form = {"subject": "<script>alert(1)</script>", "text": "Hi <b>there</b>", "interval_days": "7"}
    response = await superadmin.post(f"/mailboxes/{box.id}/robot", form)
    assert response.status == 303
    html = await (await superadmin.get(f"/mailboxes/{box.id}/robot")).text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "Hi &lt;b&gt;there&lt;/b&gt;" in html
    page = await (await superadmin.get(f"/mailboxes/{box.id}")).text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    cleared = await superadmin.post(f"/mailboxes/{box.id}/robot/clear", {})
    assert cleared.status == 303
    assert env.store.robots.get(box.id) is None


async def test_console_refuses_a_subject_with_a_line_break(env, domains, superadmin):
    box = await _box(env)
    form = {"subject": "Hi\r\nBcc: x@example.org", "text": "T", "interval_days": "7"}
    response = await superadmin.post(f"/mailboxes/{box.id}/robot", form)
    assert response.status == 400
    assert "the robot subject must be one line: CR and LF are not allowed" in await response.text()
    assert env.store.robots.get(box.id) is None


async def test_console_refuses_an_overlong_text(env, domains, superadmin):
    box = await _box(env)
    form = {"subject": "S", "text": "x" * 20_000, "interval_days": "7"}
    response = await superadmin.post(f"/mailboxes/{box.id}/robot", form)
    assert response.status == 400
    assert "longer than 10000 characters" in await response.text()
    assert env.store.robots.get(box.id) is None


async def test_api_sets_shows_refuses_and_clears(env, domains, aiohttp_client, app):
    box = await _box(env)
    env.store.admins.create("dana", "domain-admin", ["alpha.test"], PASSWORD)
    _, raw = env.store.tokens.create("dana", "script")
    client = await aiohttp_client(app)
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"/api/v1/mailboxes/{box.id}/robot"
    assert (await client.get(url, headers=headers)).status == 404
    bad = await client.put(url, json={"subject": "a\nb", "text": "T"}, headers=headers)
    assert bad.status == 400
    assert "CR and LF are not allowed" in (await bad.json())["error"]
    body = {"subject": "Received", "text": "Thanks", "from": "2030-01-01", "until": "2030-01-02"}
    done = await client.put(url, json=body, headers=headers)
    assert done.status == 200, await done.text()
    document = await done.json()
    assert (document["from"], document["until"], document["active"]) == (
        "2030-01-01T00:00:00Z",
        "2030-01-03T00:00:00Z",
        False,
    )
    assert (await (await client.get(url, headers=headers)).json())["subject"] == "Received"
    assert (await client.delete(url, headers=headers)).status == 204
    assert (await client.delete(url, headers=headers)).status == 404


async def test_a_domain_admin_cannot_set_another_domains_robot(env, domains, aiohttp_client, app):
    foreign, _ = env.store.mailboxes.create("beta.test", name="Foreign", actor=None)
    env.store.admins.create("dana", "domain-admin", ["alpha.test"], PASSWORD)
    _, raw = env.store.tokens.create("dana", "script")
    client = await aiohttp_client(app)
    response = await client.put(
        f"/api/v1/mailboxes/{foreign.id}/robot",
        json={"subject": "S", "text": "T"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status == 403
    assert env.store.robots.get(foreign.id) is None
