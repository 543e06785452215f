"""The main journeys in a real browser: Debian's headless Chromium driven by Playwright.

The app runs on a real aiohttp server (127.0.0.1, plain HTTP) over a real store on disk.
Screenshots of each main page go to test-artifacts/screenshots/ (desktop and phone).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyotp
import pytest

from tests.support.tools import not_available

from .conftest import PASSPHRASE_RE, PASSWORD, deliver
from .test_redirects import HOSTILE

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    not_available("Debian chromium is not installed at /usr/bin/chromium (.ci/run installs it)")


@pytest.fixture
async def browser():
    require_chromium()
    async with playwright_api.async_playwright() as p:
        instance = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        await instance.close()


@pytest.fixture
async def base_url(aiohttp_server, app) -> str:
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def page(browser, base_url):
    context = await browser.new_context(base_url=base_url, viewport=DESKTOP)
    tab = await context.new_page()
    yield tab
    await context.close()


async def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def sign_in(page, name: str, password: str, code: str = "") -> None:
    await page.goto("/login")
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Password", exact=True).fill(password)
    if code:
        await page.get_by_label("Authentication code").fill(code)
    await page.get_by_role("button", name="Sign in").click()


async def shown_passphrase(page) -> str:
    text = re.sub(r"\s", "", await page.locator("#passphrase").inner_text())
    assert PASSPHRASE_RE.fullmatch(text), text
    return text


async def test_first_sign_in_domain_mailbox_settings_passphrases_delete(page, env):
    _, password = env.store.admins.create("admin")  # as `gateway serve` does, printed once
    await sign_in(page, "admin", "not the password")
    await expect(page.get_by_role("alert")).to_contain_text("Wrong name, password")
    await shot(page, "login")
    await sign_in(page, "admin", password)
    await expect(page.get_by_role("heading", name="Mailboxes")).to_be_visible()

    await page.get_by_role("link", name="Domains").click()
    await page.get_by_label("Domain name").fill("acme.example")
    await page.get_by_role("button", name="Add domain").click()
    await expect(page.get_by_role("status")).to_contain_text("Domain acme.example added.")
    await shot(page, "domains")

    await page.goto("/mailboxes/new?domain=acme.example")
    await page.get_by_label("Name", exact=True).fill("Acme journal")
    await page.get_by_label("Aliases (optional)").fill("journal@acme.example")
    await page.get_by_label("Quota").fill("20 GB")
    await shot(page, "mailbox-new")
    await page.get_by_role("button", name="Create mailbox").click()
    await expect(page.get_by_role("heading", name="Mailbox created")).to_be_visible()
    first = await shown_passphrase(page)
    mailbox = env.store.mailboxes.list()[0]
    env.store.keys.unlock(mailbox.id, first)
    finish = page.get_by_role("button", name="Finish")
    await expect(finish).to_be_disabled()
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download as text file").click()
    download = await info.value
    assert download.url.startswith("blob:") and first not in download.url
    saved = await asyncio.to_thread(Path(await download.path()).read_text)
    assert first in saved and mailbox.id in saved and mailbox.address in saved
    await shot(page, "passphrase-once")
    await page.get_by_label("I have stored this passphrase").check()
    await expect(finish).to_be_enabled()
    await finish.click()
    await expect(page.get_by_role("status")).to_contain_text("no longer shown anywhere")
    await page.reload()
    assert first not in await page.content()
    try:  # back to the one-time page: no-store means the browser has nothing to show
        await page.go_back()
    except playwright_api.Error as exc:
        assert "ERR_CACHE_MISS" in str(exc)
        await page.wait_for_url("chrome-error://chromewebdata/")
        await page.wait_for_load_state()
    else:
        assert first not in await page.content()
    await page.goto(f"/mailboxes/{mailbox.id}")
    assert not PASSPHRASE_RE.search(await page.content())
    deliver(env.store, mailbox.id)
    await page.reload()
    await shot(page, "mailbox")

    await page.get_by_role("link", name="Settings", exact=True).click()
    await page.get_by_label("Hold", exact=False).check()
    await page.get_by_label("Allowed retrieval networks").fill("192.0.2.0/24")
    await page.get_by_label("IMAP").uncheck()
    await shot(page, "mailbox-settings")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text("Settings saved.")
    changed = env.store.mailboxes.get(mailbox.id)
    assert changed.status == "hold" and changed.protocols == ("pop3",)
    assert changed.allowed_networks == ("192.0.2.0/24",)

    await page.get_by_role("link", name="Passphrase", exact=True).click()
    await expect(page.get_by_text("1 stored message will become sealed")).to_be_visible()
    await shot(page, "passphrase")
    await page.get_by_label("I understand").check()
    await page.get_by_role("button", name="Reset passphrase").click()
    await expect(page.get_by_role("heading", name="Passphrase reset")).to_be_visible()
    second = await shown_passphrase(page)
    await page.get_by_label("I have stored this passphrase").check()
    await page.get_by_role("button", name="Finish").click()
    await expect(page.get_by_text("1 message is sealed under an older passphrase")).to_be_visible()
    await page.goto(f"/mailboxes/{mailbox.id}/passphrase")
    await page.get_by_label("Old passphrase", exact=True).fill(first.lower())
    await page.locator("#f-current_for_recover").fill(second)
    await page.get_by_role("button", name="Recover", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("Recovered: 1 message is readable")
    assert env.store.keys.sealed_message_count(mailbox.id) == 0

    await page.goto(f"/mailboxes/{mailbox.id}/delete")
    await expect(page.get_by_text("1 stored message")).to_be_visible()
    await page.get_by_label("Mailbox name").fill("wrong")
    await page.get_by_role("button", name="Delete mailbox for ever").click()
    await expect(page.locator("#confirm-error")).to_be_visible()
    await shot(page, "mailbox-delete")
    await page.get_by_label("Mailbox name").fill("Acme journal")
    await page.get_by_role("button", name="Delete mailbox for ever").click()
    await expect(page.get_by_role("status")).to_contain_text("deleted with 1 message")
    assert env.store.mailboxes.list() == []
    await page.get_by_role("button", name="Sign out", exact=True).click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_german_totp_enrolment_and_sign_in(page, env):
    env.store.admins.create("maria", "superadmin", [], PASSWORD)
    await sign_in(page, "maria", PASSWORD)
    await page.get_by_role("link", name="Your settings").click()
    await page.get_by_label("Language of the console").select_option("de")
    await expect(page.get_by_role("status")).to_have_text("Sprache geändert.")
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.get_by_role("heading", name="Ihre Einstellungen")).to_be_visible()
    await shot(page, "settings-de")

    await page.get_by_role("link", name="Zwei-Faktor-Anmeldung einschalten").click()
    await expect(page.get_by_alt_text("QR-Code für Ihre Authenticator-App")).to_be_visible()
    await shot(page, "totp-enrol-de")
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    totp = pyotp.TOTP(secret)
    await page.get_by_label("Code aus der App").fill("000000")
    await page.get_by_role("button", name="Einschalten").click()
    await expect(page.locator("#code-error")).to_be_visible()
    await page.get_by_label("Code aus der App").fill(totp.at(env.clock.now))
    await page.get_by_role("button", name="Einschalten").click()
    await expect(page.get_by_role("heading", name="Ihre Wiederherstellungscodes")).to_be_visible()
    assert await page.locator("ul.codes li").count() == 10
    await page.get_by_role("link", name="Ich habe es gespeichert").click()
    await page.get_by_role("button", name="Abmelden", exact=True).click()

    await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    env.clock.now += 30
    await page.get_by_label("Name", exact=True).fill("maria")
    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page.get_by_role("alert")).to_contain_text("Falscher Name")
    await page.get_by_label("Name", exact=True).fill("maria")
    await page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    await page.get_by_label("Bestätigungscode").fill(totp.at(env.clock.now))
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page.get_by_role("heading", name="Postfächer")).to_be_visible()
    await page.get_by_role("button", name="Abmelden", exact=True).click()
    await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()


async def test_screenshots_of_main_pages_on_desktop_and_phone(browser, base_url, env):
    env.store.domains.add("acme.example")
    env.store.domains.add("globex.example")
    for n, (domain, name) in enumerate(
        [
            ("acme.example", "Acme journal"),
            ("acme.example", "Acme legal hold"),
            ("globex.example", "Globex <script>alert(1)</script>"),
        ]
    ):
        mailbox, _ = env.store.mailboxes.create(
            domain, name=name, aliases=[f"j{n}@{domain}"], quota=(n + 1) << 30, actor=None
        )
        for m in range(n + 1):
            deliver(env.store, mailbox.id, m, size=5000)
    env.store.keys.reset_passphrase(mailbox.id)
    env.store.audit.record("retrieval", "pop3.login", mailbox.id, "", "198.51.100.4")
    env.store.admins.create("paul", "superadmin", [], PASSWORD)
    pages = [
        "/mailboxes",
        f"/mailboxes/{mailbox.id}",
        "/connect",
        "/settings",
        "/admins",
        "/audit",
        "/domains",
    ]
    variants = (("desktop", DESKTOP, "light"), ("phone", PHONE, "light"), ("dark", DESKTOP, "dark"))
    for label, viewport, scheme in variants:
        context = await browser.new_context(
            base_url=base_url, viewport=viewport, color_scheme=scheme
        )
        tab = await context.new_page()
        await sign_in(tab, "paul", PASSWORD)
        await expect(tab.get_by_role("heading", name="Mailboxes")).to_be_visible()
        for path in pages:
            await tab.goto(path)
            assert "<script>alert(1)</script>" not in await tab.locator("main").inner_html()
            name = path.strip("/").split("/")[0] + ("-detail" if "mbx-" in path else "")
            await shot(tab, f"{name}-{label}")
        if label == "phone":  # nothing wider than the screen
            width = await tab.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], width
        await context.close()


async def test_a_hostile_next_keeps_the_browser_on_the_gateway(browser, base_url, env):
    """Sign in through the real form with each known bypass in `next`. CSP is switched
    off (bypass_csp): the server alone must keep the browser on its own origin."""
    env.store.admins.create("paul", "superadmin", [], PASSWORD)
    origin = urlsplit(base_url).netloc
    for target in HOSTILE:
        context = await browser.new_context(base_url=base_url, bypass_csp=True)
        foreign: list[str] = []
        context.on(
            "request",
            lambda request: (
                foreign.append(request.url) if urlsplit(request.url).netloc != origin else None
            ),
        )
        tab = await context.new_page()
        await tab.goto(f"/login?next={quote(target, safe='')}")
        await tab.get_by_label("Name", exact=True).fill("paul")
        await tab.get_by_label("Password", exact=True).fill(PASSWORD)
        await tab.get_by_role("button", name="Sign in").click()
        await tab.wait_for_url(lambda url: urlsplit(url).path != "/login")
        assert tab.url == f"{base_url}/mailboxes", (target, tab.url)
        assert not foreign, (target, foreign)
        await expect(tab.get_by_role("heading", name="Mailboxes")).to_be_visible()
        await context.close()
