"""The Sources page in a real browser (Debian's Chromium, driven by Playwright): add an
IMAPS source on the test Dovecot, test its connection, fetch now, and the edit form
that never shows the password."""

from __future__ import annotations

from tests.web.conftest import PASSWORD
from tests.web.test_browser import base_url, browser, expect, page, shot, sign_in  # noqa: F401

from .conftest import message


async def test_add_test_and_fetch_a_source(page, env, mailbox, account, ca_pem):  # noqa: F811
    account.put(message(7))
    env.store.admins.create("dana", "domain-admin", ["alpha.test"], PASSWORD)
    await sign_in(page, "dana", PASSWORD)
    await page.goto(f"/mailboxes/{mailbox.id}")
    await page.get_by_role("link", name="Sources", exact=True).click()
    await expect(page.locator("#no-sources")).to_be_visible()
    await page.get_by_label("Name", exact=True).fill("info")
    await page.get_by_label("Server").fill("127.0.0.1")
    await page.get_by_label("Port").fill(str(account.server.ports["imaps"]))
    await page.get_by_label("CA file").fill(str(ca_pem))
    await page.get_by_label("Account").fill(account.user)
    await page.get_by_label("Password", exact=True).fill(account.password)
    await page.get_by_role("button", name="Add source").click()
    await expect(page.get_by_role("status").first).to_contain_text("Source info added.")
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.locator("#source-result")).to_contain_text(
        "Connection and sign-in work: 1 messages waiting at the source."
    )
    await page.get_by_role("button", name="Fetch now").click()
    await expect(page.locator("#source-result")).to_contain_text("Fetched 1, skipped 0")
    await expect(page.locator("#sources")).to_contain_text("1 stored")
    await shot(page, "mailbox-sources")
    assert account.password not in await page.content()
    await page.get_by_role("link", name="Edit").click()
    await expect(page.get_by_label("Password", exact=True)).to_have_value("")
    await expect(page.get_by_label("Password", exact=True)).to_have_attribute(
        "autocomplete", "new-password"
    )
    assert account.password not in await page.content()
    assert env.store.mailboxes.get(mailbox.id).messages == 1
