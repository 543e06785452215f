"""The mailbox list at scale in a real browser (Debian's Chromium, Playwright): page
through 120 mailboxes, sort, search, filter, and reload a bookmarked URL."""

from __future__ import annotations

import re

from .conftest import PASSWORD
from .test_browser import base_url, browser, expect, page, shot, sign_in  # noqa: F401


def _names(count: int) -> list[str]:
    return [f"Customer {n:03d}" for n in range(count)]


async def _shown(page) -> list[str]:  # noqa: F811 (the fixture's name)
    return await page.locator("tbody td.primary > a").all_inner_texts()


async def test_page_through_sort_search_and_reload_a_bookmark(page, env):  # noqa: F811
    env.store.domains.add("acme.example")
    env.store.domains.add("other.example")
    for n, name in enumerate(_names(120)):
        status = "hold" if n % 4 == 0 else "active"
        env.store.mailboxes.create("acme.example", name=name, status=status, actor=None)
    env.store.mailboxes.create("other.example", name="Elsewhere", actor=None)
    env.store.admins.create("root", "superadmin", [], PASSWORD)
    await sign_in(page, "root", PASSWORD)
    await expect(page.get_by_role("heading", name="Mailboxes")).to_be_visible()

    await page.get_by_label("Domain").select_option("acme.example")
    await page.get_by_label("Per page").select_option("25")
    await page.get_by_role("button", name="Show").click()
    pager = page.get_by_role("navigation", name="Pages").first
    await expect(pager).to_contain_text("Page 1 of 5")
    assert await _shown(page) == _names(25)

    await pager.get_by_role("link", name="Next").click()
    await expect(pager).to_contain_text("Page 2 of 5")
    assert await _shown(page) == _names(50)[25:]
    await pager.get_by_role("link", name="Next").click()
    await pager.get_by_role("link", name="Previous").click()
    await expect(pager).to_contain_text("Page 2 of 5")

    name_header = page.locator("thead").get_by_role("link", name=re.compile("^Mailbox"))
    await name_header.click()  # by name again: descending
    await expect(page.locator("th[aria-sort='descending']")).to_contain_text("Mailbox")
    await expect(pager).to_contain_text("Page 1 of 5")
    assert await _shown(page) == list(reversed(_names(120)))[:25]
    await pager.get_by_role("link", name="Next").click()
    await expect(pager).to_contain_text("Page 2 of 5")
    bookmark = page.url
    expected = list(reversed(_names(120)))[25:50]
    assert await _shown(page) == expected
    await shot(page, "mailboxes-paged")

    await page.get_by_label("Search").fill("Customer 01")
    await page.get_by_label("Status").select_option("hold")
    await page.get_by_role("button", name="Show").click()
    await expect(pager).to_contain_text("Page 1 of 1")
    assert await _shown(page) == [
        n for n in reversed(_names(120)) if n.startswith("Customer 01") and int(n[-3:]) % 4 == 0
    ]
    await expect(page.locator("#list-count")).to_contain_text("Mailboxes 1–2 of 2.")

    await page.goto(bookmark)  # a bookmarked view lands on the same page, same order
    await expect(pager).to_contain_text("Page 2 of 5")
    assert await _shown(page) == expected
    await page.reload()
    assert await _shown(page) == expected
    await expect(page.get_by_label("Domain")).to_have_value("acme.example")
    await expect(page.get_by_label("Per page")).to_have_value("25")
