"""The mailbox list at scale: console pages, API paging, domain scope, the overview."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from .conftest import PASSWORD, deliver

ROW_RE = re.compile(r'<td class="primary"><a href="/mailboxes/([^"]+)">')


def row_ids(html: str) -> list[str]:
    return ROW_RE.findall(html)


def links(html: str, rel: str) -> list[str]:
    return [htmllib.unescape(u) for u in re.findall(rf'<a rel="{rel}"[^>]*href="([^"]+)"', html)]


@pytest.fixture
def sixty(env, domains):
    """60 mailboxes in alpha.test (every third on hold), 5 in beta.test."""
    made = [
        env.store.mailboxes.create(
            "alpha.test",
            name=f"Alpha {n:02d}",
            status="hold" if n % 3 == 0 else "active",
            actor=None,
        )[0]
        for n in range(60)
    ]
    beta = [
        env.store.mailboxes.create("beta.test", name=f"Beta {n}", actor=None)[0] for n in range(5)
    ]
    return made, beta


async def test_console_pages_keep_filters_sort_and_size(superadmin, sixty):
    alpha, _ = sixty
    first = (await superadmin.get("/mailboxes?domain=alpha.test&size=25")).body_text
    assert row_ids(first) == [m.id for m in alpha[:25]]
    assert "Page 1 of 3" in first and "Mailboxes 1–25 of 60." in first
    assert links(first, "prev") == []
    (next_url,) = set(links(first, "next"))
    assert next_url == "/mailboxes?domain=alpha.test&size=25&page=2"
    third = (await superadmin.get("/mailboxes?domain=alpha.test&size=25&page=3")).body_text
    assert row_ids(third) == [m.id for m in alpha[50:]] and "Page 3 of 3" in third
    assert links(third, "next") == []
    held = "/mailboxes?domain=alpha.test&q=alpha&status=hold&sort=name&dir=desc&size=25"
    page = (await superadmin.get(held)).body_text
    wanted = [m.id for m in reversed(alpha) if m.status == "hold"]
    assert row_ids(page) == wanted  # 20 on one page, name descending
    sort_link = re.search(r'<a href="([^"]+)">Messages', page).group(1)
    assert htmllib.unescape(sort_link) == (
        "/mailboxes?domain=alpha.test&q=alpha&status=hold&sort=messages&size=25"
    )


async def test_console_bad_paging_values_fall_back(superadmin, sixty):
    alpha, _ = sixty
    past = (await superadmin.get("/mailboxes?domain=alpha.test&size=25&page=99")).body_text
    assert "Page 3 of 3" in past and row_ids(past) == [m.id for m in alpha[50:]]
    odd = (await superadmin.get("/mailboxes?page=abc&size=7&sort=bogus&status=x")).body_text
    assert "Page 1 of 2" in odd and len(row_ids(odd)) == 50  # defaults: 50 a page, by name
    old_sort = (await superadmin.get("/mailboxes?sort=size&dir=desc")).body_text
    assert 'aria-sort="descending"><a href="/mailboxes?sort=bytes"' in old_sort


async def test_console_sorts_by_received_in_24h(superadmin, sixty, env):
    alpha, _ = sixty
    for n in range(3):
        deliver(env.store, alpha[7].id, n)
    deliver(env.store, alpha[40].id)
    page = (await superadmin.get("/mailboxes?sort=received_24h&dir=desc&size=25")).body_text
    assert row_ids(page)[:2] == [alpha[7].id, alpha[40].id]


async def test_a_domain_admin_pages_only_their_domains(make_console, sixty):
    alpha, beta = sixty
    admin = await make_console("beta-admin", "domain-admin", ["beta.test"])
    page = (await admin.get("/mailboxes?size=25")).body_text
    assert row_ids(page) == [m.id for m in beta] and "of 5." in page
    assert row_ids((await admin.get("/mailboxes?q=alpha")).body_text) == []
    assert (await admin.client.get("/mailboxes?domain=alpha.test")).status == 403
    viewer = await make_console("watcher", "viewer", ["alpha.test"])
    seen = (await viewer.get("/mailboxes?size=100")).body_text
    assert sorted(row_ids(seen)) == sorted(m.id for m in alpha)


@pytest.fixture
async def api(aiohttp_client, app, env, sixty):
    env.store.admins.create("robot", "superadmin", [], PASSWORD)
    _, raw = env.store.tokens.create("robot", "ci")
    client = await aiohttp_client(app)
    client.headers = {"Authorization": f"Bearer {raw}"}
    return client


async def get(api, path: str):
    response = await api.get(path, headers=api.headers)
    return response.status, await response.json()


async def test_api_pages_by_cursor_and_by_offset(api, sixty):
    alpha, beta = sixty
    seen, cursor = [], ""
    while True:
        status, body = await get(api, f"/api/v1/mailboxes?limit=20&sort=created&cursor={cursor}")
        assert status == 200 and body["total"] == 65
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    assert seen == [m.id for m in alpha + beta]
    status, body = await get(api, "/api/v1/mailboxes?limit=10&offset=60&sort=created")
    assert [i["id"] for i in body["items"]] == [m.id for m in beta]
    assert body["items"][0]["received_24h"] == 0 and body["items"][0]["sealed_messages"] == 0
    status, held = await get(api, "/api/v1/mailboxes?limit=500&status=hold&domain=alpha.test")
    assert held["total"] == 20 and {i["status"] for i in held["items"]} == {"hold"}


async def test_api_without_paging_keeps_the_bare_list(api, sixty):
    status, body = await get(api, "/api/v1/mailboxes?domain=beta.test")
    assert status == 200 and isinstance(body, list)
    assert [m["id"] for m in body] == [m.id for m in sixty[1]]
    status, everything = await get(api, "/api/v1/mailboxes")
    assert len(everything) == 65


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("limit=0", "limit must be between 1 and 500"),
        ("limit=many", "limit must be a whole number"),
        ("limit=5&cursor=garbage", "cursor is not valid"),
        ("sort=size&limit=5", "sort must be one of"),
        ("status=paused&limit=5", "status must be one of"),
        ("dir=up&limit=5", "dir must be asc or desc"),
        ("offset=-2", "offset must be 0 or more"),
    ],
)
async def test_api_bad_list_parameters_are_400(api, query, words):
    status, body = await get(api, f"/api/v1/mailboxes?{query}")
    assert status == 400 and words in body["error"]


async def test_api_a_cursor_from_another_sort_is_refused(api):
    _, body = await get(api, "/api/v1/mailboxes?limit=5&sort=name")
    status, error = await get(
        api, f"/api/v1/mailboxes?limit=5&sort=bytes&cursor={body['next_cursor']}"
    )
    assert status == 400 and "cursor is not valid" in error["error"]


async def test_overview_in_the_console_and_the_api(api, superadmin, make_console, sixty, env):
    alpha, _ = sixty
    deliver(env.store, alpha[1].id)
    deliver(env.store, alpha[2].id)
    status, overview = await get(api, "/api/v1/domains/overview")
    assert status == 200
    by_name = {o["name"]: o for o in overview}
    assert by_name["alpha.test"]["mailboxes"] == 60
    assert by_name["alpha.test"]["by_status"] == {"active": 40, "hold": 20}
    assert by_name["alpha.test"]["received_24h"] == 2 and by_name["alpha.test"]["bytes"] > 0
    assert by_name["beta.test"]["received_24h"] == 0 and by_name["beta.test"]["last_login"] is None
    html = (await superadmin.get("/domains")).body_text
    row = html[html.index('data-domain="alpha.test"') : html.index('data-domain="beta.test"')]
    assert (
        'data-label="Received in 24 h">2<' in row
        and "/mailboxes?domain=alpha.test&amp;status=hold" in row
    )
    admin = await make_console("beta-admin", "domain-admin", ["beta.test"])
    scoped = (await admin.get("/domains")).body_text
    assert 'data-domain="beta.test"' in scoped and "alpha.test" not in scoped
    env.store.admins.create("beta-bot", "domain-admin", ["beta.test"], PASSWORD)
    _, raw = env.store.tokens.create("beta-bot", "ci")
    response = await api.get("/api/v1/domains/overview", headers={"Authorization": f"Bearer {raw}"})
    assert [o["name"] for o in await response.json()] == ["beta.test"]
