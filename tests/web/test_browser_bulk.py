"""Bulk acts on the mailbox list in a real browser (Debian's Chromium, Playwright): page
through, tick rows and a whole page, act on "all that match" across pages, and the
typed confirmation of a bulk deletion (a wrong count deletes nothing)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

from .conftest import PASSWORD
from .test_browser import base_url, browser, expect, page, shot, sign_in  # noqa: F401


def _name(n: int) -> str:
    return f"Customer {n:03d}"


async def test_select_page_all_matching_and_the_typed_confirmation(page, env):  # noqa: F811
    env.store.domains.add("acme.example")
    env.store.domains.add("other.example")
    for n in range(60):  # every third on hold: 20 of them
        status = "hold" if n % 3 == 0 else "active"
        env.store.mailboxes.create("acme.example", name=_name(n), status=status, actor=None)
    for n in range(3):  # another customer's, on hold: never reached by this domain admin
        env.store.mailboxes.create("other.example", name=f"Other {n}", status="hold", actor=None)
    env.store.admins.create("da", "domain-admin", ["acme.example"], PASSWORD)
    await sign_in(page, "da", PASSWORD)
    await expect(page.get_by_role("heading", name="Mailboxes")).to_be_visible()

    await page.get_by_label("Per page").select_option("25")
    await page.get_by_role("button", name="Show").click()
    pager = page.get_by_role("navigation", name="Pages").first
    await expect(pager).to_contain_text("Page 1 of 3")
    await pager.get_by_role("link", name="Next").click()
    await expect(pager).to_contain_text("Page 2 of 3")

    # Two rows ticked on page 2 (both active) go on hold; the view stays on page 2.
    await page.get_by_label(f"Select {_name(26)}").check()
    await page.get_by_label(f"Select {_name(28)}").check()
    await page.get_by_label("Set to").select_option("hold")
    await page.get_by_role("button", name="Change status").click()
    await expect(page.get_by_role("status")).to_contain_text("Status changed for 2 mailboxes.")
    await expect(pager).to_contain_text("Page 2 of 3")
    held = {m.name for m in env.store.mailboxes.list() if m.status == "hold"}
    assert {_name(26), _name(28)} <= held and len(held) == 22 + 3

    # "Select every mailbox on this page" ticks the 25 rows, and clears them again.
    rows = page.locator("tbody input[name=ids]")
    await page.get_by_label("Select every mailbox on this page").check()
    assert await rows.count() == 25
    for n in range(25):
        await expect(rows.nth(n)).to_be_checked()
    await page.get_by_label("Select every mailbox on this page").uncheck()
    await expect(page.locator("tbody input[name=ids]:checked")).to_have_count(0)

    # All 60 that match, though the page shows 25: the server resolves the filter.
    await page.get_by_label("All 60 mailboxes that match the filter").check()
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Export CSV").click()
    download = await info.value
    assert re.fullmatch(r"mailboxes-\d{8}-\d{6}\.csv", download.suggested_filename)
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    exported = list(csv.reader(io.StringIO(text, newline="")))
    assert exported[0][:2] == ["id", "name"] and len(exported) == 61
    assert {row[2] for row in exported[1:]} == {"acme.example"}
    await page.get_by_role("button", name="Delete…").click()
    await expect(page.get_by_role("heading", name="Delete mailboxes")).to_be_visible()
    await expect(page.locator("#bulk-delete-summary")).to_contain_text("22 mailboxes")
    await expect(page.locator("#bulk-confirm-word")).to_have_text("22")
    await expect(page.get_by_role("heading", name="Kept: 38 mailboxes")).to_be_visible()
    await shot(page, "mailboxes-bulk-delete")

    await page.get_by_label("Number of mailboxes to delete").fill("60")
    await page.get_by_role("button", name="Delete 22 mailboxes for ever").click()
    await expect(page.locator("#confirm-error")).to_contain_text(
        "You typed “60”. Type 22 to delete them. Nothing was deleted."
    )
    assert len(env.store.mailboxes.list()) == 63

    await page.get_by_label("Number of mailboxes to delete").fill("22")
    await page.get_by_role("button", name="Delete 22 mailboxes for ever").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "Deleted 22 mailboxes with 0 messages. 38 were kept"
    )
    await expect(pager).to_contain_text("Page 2 of 2")  # back to the same view, now shorter
    left = env.store.mailboxes.list()
    assert {m.status for m in left if m.domain == "acme.example"} == {"active"}
    assert len(left) == 38 + 3  # the other customer's three are untouched
    await shot(page, "mailboxes-bulk-done")
