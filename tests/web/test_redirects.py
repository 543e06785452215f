"""`next` after sign-in: only a same-origin path; every known bypass lands on "/".

Each case signs in for real (aiohttp client, redirects not followed) and looks at the
Location header the server sends, and at the `next` the sign-in page puts in its form.
The same cases run in Chromium in test_browser.py.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest

from web.redirects import safe_next

from .conftest import PASSWORD

# Tab, CR and LF are removed by browsers (and by yarl) inside URLs: "/\t/x" becomes "//x".
HOSTILE = [
    "/\t/evil.example",
    "/\r/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\t\t/evil.example/x",
    "/\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/mailboxes\\..\\..\\evil",
    "//evil.example",
    "//evil.example/x",
    "///evil.example",
    "%2f%2fevil.example",
    "/%2f%2fevil.example",
    "/%2F/evil.example",
    "/%252f%252fevil.example",
    "/%25252525252f%25252525252fevil.example",
    "/%09/evil.example",
    "/%0d%0a/evil.example",
    "/%0d%0aSet-Cookie:%20x=y",
    "/%5cevil.example",
    "/%5c%5cevil.example",
    "/..//evil.example",
    "/.//evil.example",
    "/%2e%2e//evil.example",
    "/x/../..//evil.example",
    "https://evil.example/",
    "http://evil.example",
    "https:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "data:text/html,hi",
    "evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\u2028/evil.example",
    "/\u00a0/evil.example",
]
LOCAL = [
    "/",
    "/audit",
    "/mailboxes?domain=alpha.test&sort=name",
    "/mailboxes/mbx-abc/settings",
    "/connect?mailbox=journal%40alpha.test",
]


def assert_same_origin_path(location: str) -> None:
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and location[1:2] not in ("/", "\\"), location


async def signed_in_location(make_console, env, target: str) -> str:
    """Sign in with `next=target` and return the Location the server answers."""
    if "n" not in env.admins:
        env.store.admins.create("n", "superadmin", [], PASSWORD)
        env.admins["n"] = "superadmin"
    console = await make_console()
    await console.get("/login")
    response = await console.post("/login", {"username": "n", "password": PASSWORD, "next": target})
    assert response.status == 303, response.body_text
    return response.headers["Location"]


@pytest.mark.parametrize("target", HOSTILE)
async def test_a_hostile_next_sends_the_admin_home(make_console, env, target):
    location = await signed_in_location(make_console, env, target)
    assert location == "/"


@pytest.mark.parametrize("target", HOSTILE)
async def test_the_sign_in_page_does_not_carry_a_hostile_next(make_console, target):
    console = await make_console()
    page = await console.get("/login", params={"next": target})
    assert page.status == 200
    assert 'name="next" value="/"' in page.body_text
    assert "evil" not in page.body_text and "javascript" not in page.body_text


@pytest.mark.parametrize("target", LOCAL)
async def test_a_local_next_is_kept(make_console, env, target):
    location = await signed_in_location(make_console, env, target)
    assert unquote(location) == unquote(target)  # %40 may be sent as @
    assert_same_origin_path(location)


@pytest.mark.parametrize("target", HOSTILE + LOCAL)
def test_safe_next_always_gives_a_same_origin_path(target):
    assert_same_origin_path(safe_next(target))


async def test_the_sign_in_link_quotes_the_page_asked_for(make_console):
    console = await make_console()
    response = await console.client.get("/mailboxes/a&next=evil.example", allow_redirects=False)
    assert response.status == 302
    location = response.headers["Location"]
    assert location == "/login?next=/mailboxes/a%26next%3Devil.example"
    page = await console.get(location)
    assert 'name="next" value="/mailboxes/a&amp;next=evil.example"' in page.body_text
