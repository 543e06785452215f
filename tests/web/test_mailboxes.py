"""Mailboxes in the console: create with the one-time passphrase, list, settings, delete."""

from __future__ import annotations

import logging
import re

import pytest

from .conftest import PASSPHRASE_RE, deliver, passphrase_of


async def create(console, domain="alpha.test", **fields):
    page = await console.get(f"/mailboxes/new?domain={domain}")
    once = re.search(r'name="once" value="([^"]+)"', page.body_text).group(1)
    data = {"domain": domain, "name": "Acme", "quota": "0", "status": "active", "once": once}
    data.update(fields)
    return await console.post("/mailboxes/new", data), data


async def test_create_shows_the_passphrase_once(superadmin, domains, env, caplog):
    caplog.set_level(logging.DEBUG)
    response, form = await create(
        superadmin,
        description="journal of Acme",
        aliases="journal@alpha.test\nj2@alpha.test",
        quota="2 GB",
    )
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.body_text
    passphrase = passphrase_of(html)
    assert "This is the only time it is shown" in html
    assert "I have stored this passphrase" in html
    assert html.count('class="group"') == 6
    (mailbox,) = env.store.mailboxes.list()
    assert mailbox.name == "Acme" and mailbox.quota == 2 << 30
    assert mailbox.aliases == ("j2@alpha.test", "journal@alpha.test")
    env.store.keys.unlock(mailbox.id, passphrase)  # it is the real passphrase
    assert f"/mailboxes/{mailbox.id}/stored" in html
    # the mailbox warns until someone confirms storing it
    detail = await superadmin.get(f"/mailboxes/{mailbox.id}")
    assert "Nobody confirmed storing the current passphrase" in detail.body_text
    later = [detail]
    # reload = the browser resends the same form: no second mailbox, no passphrase
    again = await superadmin.post("/mailboxes/new", form)
    assert again.status == 303 and again.headers["Location"] == f"/mailboxes/{mailbox.id}"
    assert len(env.store.mailboxes.list()) == 1
    later.append(await superadmin.get(again.headers["Location"]))
    assert "already sent. A passphrase is shown only once" in later[-1].body_text
    # acknowledging without ticking is refused; ticking finishes
    refused = await superadmin.post(f"/mailboxes/{mailbox.id}/stored", {})
    later.append(await superadmin.get(refused.headers["Location"]))
    assert "You did not confirm" in later[-1].body_text
    done = await superadmin.post(f"/mailboxes/{mailbox.id}/stored", {"stored": "yes"})
    assert done.status == 303
    later.append(await superadmin.get(done.headers["Location"]))
    assert "The passphrase is no longer shown anywhere" in later[-1].body_text
    assert "Nobody confirmed" not in later[-1].body_text
    for path in (
        "/mailboxes",
        f"/mailboxes/{mailbox.id}/settings",
        "/audit",
        f"/mailboxes/{mailbox.id}/passphrase",
        f"/connect?mailbox={mailbox.id}",
    ):
        later.append(await superadmin.get(path))
    for page in later:
        assert passphrase not in page.body_text
        assert passphrase.replace("-", "") not in page.body_text
        assert not PASSPHRASE_RE.search(page.body_text)
        assert passphrase not in str(page.url) and passphrase not in page.headers.get(
            "Location", ""
        )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert passphrase not in logged and passphrase.replace("-", "") not in logged
    assert all(passphrase not in e.detail for e in env.store.audit.list())
    raw = (env.data_dir / "gateway.db").read_bytes()
    assert passphrase.encode() not in raw and passphrase.replace("-", "").encode() not in raw


async def test_create_form_errors_are_shown_next_to_the_fields(superadmin, domains, env):
    response, _ = await create(superadmin, quota="lots", status="weird")
    assert response.status == 400
    html = response.body_text
    assert 'id="quota-error"' in html and "Enter a size such as 500 MiB" in html
    assert "GB is read as GiB" in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="quota-help quota-error"' in html
    assert 'id="status-error"' in html
    response, _ = await create(superadmin, aliases="someone@unknown.test")
    assert response.status == 400 and 'id="aliases-error"' in response.body_text
    assert "not an accepted domain" in response.body_text
    assert 'value="Acme"' in response.body_text  # what was typed is kept
    assert env.store.mailboxes.list() == []


async def test_create_needs_a_domain_first(superadmin):
    response = await superadmin.client.get("/mailboxes/new", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/domains"


async def test_list_shows_statistics_search_and_sort(superadmin, domains, env):
    a, _ = env.store.mailboxes.create(
        "alpha.test", name="Alpha archive", aliases=["a@alpha.test"], quota=1 << 30, actor=None
    )
    b, _ = env.store.mailboxes.create("beta.test", name="Beta archive", actor=None)
    for n in range(3):
        deliver(env.store, a.id, n)
    deliver(env.store, b.id)
    env.store.keys.reset_passphrase(b.id)
    html = (await superadmin.get("/mailboxes")).body_text
    assert "Alpha archive" in html and "Beta archive" in html
    assert "a@alpha.test" in html and a.address in html
    assert "1 GiB" in html and "unlimited" in html
    row_a = html[html.index("Alpha archive") : html.index("Beta archive")]
    assert 'data-label="Messages">3<' in row_a
    assert 'data-label="Received in 24 h">3<' in row_a
    row_b = html[html.index("Beta archive") :]
    assert "<strong" in row_b.split('data-label="Sealed"')[1][:120]  # 1 sealed message
    found = (await superadmin.get("/mailboxes?q=a@alpha")).body_text
    assert "Alpha archive" in found and "Beta archive" not in found
    by_domain = (await superadmin.get("/mailboxes?domain=beta.test")).body_text
    assert "Beta archive" in by_domain and "Alpha archive" not in by_domain
    desc = (await superadmin.get("/mailboxes?sort=messages&dir=desc")).body_text
    assert desc.index("Alpha archive") < desc.index("Beta archive")
    asc = (await superadmin.get("/mailboxes?sort=messages")).body_text
    assert asc.index("Beta archive") < asc.index("Alpha archive")
    assert 'aria-sort="ascending"' in asc
    none = (await superadmin.get("/mailboxes?q=zzz")).body_text
    assert "No mailbox matches your search." in none
    assert (await superadmin.client.get("/mailboxes?domain=nowhere.test")).status == 404


async def test_mailbox_page_shows_details_epochs_and_events(superadmin, domains, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    deliver(env.store, mailbox.id)
    env.store.keys.reset_passphrase(mailbox.id)
    env.store.audit.record("retrieval", "pop3.login", mailbox.id, "", "192.0.2.7")
    html = (await superadmin.get(f"/mailboxes/{mailbox.id}")).body_text
    assert "1 message is sealed under an older passphrase" in html
    assert "sealed under an older passphrase" in html and "readable with the current" in html
    assert "pop3.login" in html and "192.0.2.7" in html
    assert (await superadmin.client.get("/mailboxes/mbx-nothere")).status == 404


async def test_settings_are_saved_and_validated(superadmin, domains, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    page = await superadmin.get(f"/mailboxes/{mailbox.id}/settings")
    for status in ("Active", "Hold", "Receive only", "Disabled"):
        assert status in page.body_text
    assert "451" in page.body_text and "550" in page.body_text
    bad = await superadmin.post(
        f"/mailboxes/{mailbox.id}/settings",
        [
            ("name", "Acme"),
            ("status", "hold"),
            ("quota", "5 GB"),
            ("networks", "not-a-net"),
            ("protocols", "pop3"),
        ],
    )
    assert bad.status == 400 and 'id="networks-error"' in bad.body_text
    assert "not-a-net is not a network" in bad.body_text
    ok = await superadmin.post(
        f"/mailboxes/{mailbox.id}/settings",
        [
            ("name", "Acme Ltd"),
            ("description", "d"),
            ("status", "hold"),
            ("quota", "5 GB"),
            ("networks", "192.0.2.0/24\n2001:db8::/32"),
            ("protocols", "pop3"),
        ],
    )
    assert ok.status == 303
    updated = env.store.mailboxes.get(mailbox.id)
    assert (updated.name, updated.status, updated.quota) == ("Acme Ltd", "hold", 5 << 30)
    assert updated.allowed_networks == ("192.0.2.0/24", "2001:db8::/32")
    assert updated.protocols == ("pop3",)
    page = await superadmin.get(f"/mailboxes/{mailbox.id}")
    assert "Settings saved." in page.body_text
    event = env.store.audit.list(action="mailbox.update")[0]
    assert "status=hold" in event.detail and event.actor == "root"


async def test_aliases_are_added_and_removed(superadmin, domains, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    ok = await superadmin.post(f"/mailboxes/{mailbox.id}/aliases", {"address": "x@alpha.test"})
    assert ok.status == 303
    assert env.store.mailboxes.get(mailbox.id).aliases == ("x@alpha.test",)
    dup = await superadmin.post(f"/mailboxes/{mailbox.id}/aliases", {"address": "x@alpha.test"})
    assert dup.status == 400 and 'id="address-error"' in dup.body_text
    bad = await superadmin.post(f"/mailboxes/{mailbox.id}/aliases", {"address": "nope"})
    assert bad.status == 400
    gone = await superadmin.post(
        f"/mailboxes/{mailbox.id}/aliases/remove", {"address": "x@alpha.test"}
    )
    assert gone.status == 303 and env.store.mailboxes.get(mailbox.id).aliases == ()
    missing = await superadmin.post(
        f"/mailboxes/{mailbox.id}/aliases/remove", {"address": "x@alpha.test"}
    )
    assert missing.status == 404


async def test_delete_needs_hold_or_disabled_and_the_typed_name(superadmin, domains, env):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    deliver(env.store, mailbox.id)
    deliver(env.store, mailbox.id, 2)
    page = await superadmin.get(f"/mailboxes/{mailbox.id}/delete")
    assert "2 stored messages" in page.body_text
    assert "Only a mailbox on hold or disabled can be deleted" in page.body_text
    refused = await superadmin.post(f"/mailboxes/{mailbox.id}/delete", {"confirm": "Acme"})
    assert refused.status == 409 and env.store.mailboxes.find(mailbox.id)
    env.store.mailboxes.update(mailbox.id, status="disabled")
    wrong = await superadmin.post(f"/mailboxes/{mailbox.id}/delete", {"confirm": "acme"})
    assert wrong.status == 400 and 'id="confirm-error"' in wrong.body_text
    done = await superadmin.post(f"/mailboxes/{mailbox.id}/delete", {"confirm": "Acme"})
    assert done.status == 303 and env.store.mailboxes.find(mailbox.id) is None
    page = await superadmin.get(done.headers["Location"])
    assert "Mailbox Acme deleted with 2 messages." in page.body_text
    assert env.store.audit.list(action="mailbox.delete")[0].detail == "messages=2"


async def test_store_errors_are_shown_in_the_admins_language(superadmin, domains, env):
    """The store's English sentence is translated in the console, values filled in;
    the API and the CLI keep the English str(exc)."""
    other, _ = env.store.mailboxes.create("alpha.test", aliases=["taken@alpha.test"], actor=None)
    mailbox, _ = env.store.mailboxes.create("alpha.test", actor=None)
    await superadmin.post("/settings/language", {"language": "de"})
    await superadmin.get(f"/mailboxes/{mailbox.id}/settings")
    path = f"/mailboxes/{mailbox.id}/aliases"
    taken = await superadmin.post(path, {"address": "Taken@alpha.test"})
    assert taken.status == 400
    assert "Adresse taken@alpha.test ist bereits vergeben" in taken.body_text
    assert "already in use" not in taken.body_text
    bad = await superadmin.post(path, {"address": "no-at-sign"})
    assert bad.status == 400 and "Ungültige Adresse: &#39;no-at-sign&#39;" in bad.body_text
    created = await superadmin.post(
        "/mailboxes/new", {"domain": "alpha.test", "aliases": "x@unknown.test"}
    )
    assert created.status == 400
    assert "x@unknown.test: Ihre Domain ist keine angenommene Domain" in created.body_text
    assert env.store.mailboxes.get(mailbox.id).aliases == ()
    assert env.store.mailboxes.get(other.id).aliases == ("taken@alpha.test",)


@pytest.mark.parametrize(
    ("language", "typed", "shown", "size"),
    [
        ("en", "1 GB", "1 GiB", 1 << 30),
        ("en", "1.5 GiB", "1.5 GiB", 3 << 29),
        ("en", "20g", "20 GiB", 20 << 30),
        ("en", "500 MiB", "500 MiB", 500 << 20),
        ("en", "2 TB", "2 TiB", 2 << 40),
        ("en", "1023 KiB", "1023 KiB", 1023 << 10),
        ("de", "1,5 GiB", "1,5 GiB", 3 << 29),
        ("de", "1.25 GB", "1,25 GiB", 5 << 28),
    ],
)
async def test_the_quota_typed_is_the_quota_the_lists_show(
    superadmin, domains, env, language, typed, shown, size
):
    """The form, the list and the mailbox page speak the same binary units."""
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Sized", actor=None)
    if language == "de":
        await superadmin.post("/settings/language", {"language": "de"})
    await superadmin.get(f"/mailboxes/{mailbox.id}/settings")
    saved = await superadmin.post(
        f"/mailboxes/{mailbox.id}/settings",
        [("name", "Sized"), ("status", "active"), ("quota", typed), ("protocols", "pop3")],
    )
    assert saved.status == 303, saved.body_text
    assert env.store.mailboxes.get(mailbox.id).quota == size
    listing = (await superadmin.get("/mailboxes")).body_text
    assert f"0 B / {shown}<" in listing
    assert f"<dd>{shown}</dd>" in (await superadmin.get(f"/mailboxes/{mailbox.id}")).body_text
    form = (await superadmin.get(f"/mailboxes/{mailbox.id}/settings")).body_text
    assert f'value="{shown}"' in form
