"""Account-security policies in a real browser (Debian's Chromium, driven by Playwright):
forced two-factor enrolment, then the reset lock and the maximum age as a domain admin."""

from __future__ import annotations

import re
from dataclasses import replace

import pyotp
import pytest

from web import create_app

from .conftest import PASSWORD
from .test_browser import base_url, browser, expect, page, shot, sign_in  # noqa: F401


@pytest.fixture
def app(env):
    """Domain admins must use two-factor sign-in (web.require_totp = ["domain-admin"])."""
    return create_app(env.astore, replace(env.options, require_totp=("domain-admin",)))


async def test_forced_enrolment_then_the_mailbox_list_and_a_reset_lock(page, env):  # noqa: F811
    env.store.domains.add("acme.example")
    mailbox, _ = env.store.mailboxes.create("acme.example", name="Acme journal", actor=None)
    env.store.admins.create("dana", "domain-admin", ["acme.example"], PASSWORD)

    await sign_in(page, "dana", PASSWORD)
    await expect(page).to_have_url(re.compile(r"/settings/totp$"))
    await expect(page.get_by_role("alert")).to_contain_text(
        "Your account must use two-factor sign-in."
    )
    await shot(page, "totp-forced")
    await page.goto("/mailboxes")
    await expect(page).to_have_url(re.compile(r"/settings/totp$"))

    secret = (await page.locator("#totp-secret").inner_text()).strip()
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).at(env.clock.now))
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    await page.get_by_role("link", name="I have stored it").click()
    await page.get_by_role("link", name="Mailboxes", exact=True).click()
    await expect(page.get_by_role("heading", name="Mailboxes", exact=True)).to_be_visible()
    await page.get_by_role("link", name="Acme journal").click()

    await page.get_by_role("link", name="Settings", exact=True).click()
    await page.get_by_label("Maximum passphrase age").select_option("12m")
    await page.get_by_role("button", name="Save maximum age").click()
    await expect(page.get_by_role("status")).to_have_text("Maximum passphrase age saved.")
    await page.get_by_role("button", name="Lock passphrase resets").click()
    await expect(page.get_by_role("status")).to_have_text("Passphrase resets are locked.")
    await expect(page.locator("#lock-state")).to_contain_text(
        "Only a superadmin can reset the passphrase of this mailbox"
    )
    await expect(page.get_by_role("button", name="Clear the reset lock")).to_have_count(0)
    await shot(page, "mailbox-policy")

    await page.goto(f"/mailboxes/{mailbox.id}/passphrase")
    await expect(page.locator("#reset-locked")).to_have_text(
        "Passphrase resets of this mailbox are locked: only a superadmin can reset it."
    )
    await expect(page.get_by_role("button", name="Reset passphrase")).to_have_count(0)
    assert env.store.mailboxes.get(mailbox.id).settings["reset_locked"] is True
    assert env.store.mailboxes.get(mailbox.id).settings["passphrase_max_age_days"] == 365
