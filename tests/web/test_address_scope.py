"""Tenant isolation of addresses in the console and the API (issue 11, items 1 and 8).

Every address a mailbox gets (its primary `<id>@<domain>` or an alias, at creation or
later) must be in a domain the acting admin may write. The matrix is role × way of adding
an address × target domain; each case checks what the admin sees, that a refusal created
nothing, and what SMTP answers for the address afterwards.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from tests.support.mail import rcpt_reply

from .conftest import PASSWORD, Console, deliver

OWN, FOREIGN, UNACCEPTED = "acme.test", "beta.test", "nowhere.test"
TARGETS = {"own": OWN, "foreign": FOREIGN, "unaccepted": UNACCEPTED}
ROLES = {  # admin name: (role, assigned domains)
    "root": ("superadmin", []),
    "acme-admin": ("domain-admin", [OWN]),
    "acme-beta-admin": ("domain-admin", [OWN, FOREIGN]),
    "watcher": ("viewer", []),
}
# What each role gets for an address in the target domain: "ok"; "scope" (403, "... is not
# one of your domains"); "unaccepted" (400); "forbidden" (403 before any handler: viewers
# change nothing). A superadmin may use any accepted domain, also one other than the
# mailbox's own. A domain admin hears "not one of your domains" for every other domain,
# accepted or not, so it learns nothing about other customers' domains.
#                    own           foreign        unaccepted
EXPECTED = {
    "root": ("ok", "ok", "unaccepted"),
    "acme-admin": ("ok", "scope", "scope"),
    "acme-beta-admin": ("ok", "ok", "scope"),
    "watcher": ("forbidden", "forbidden", "forbidden"),
}
ERROR_RE = re.compile(r'<p class="error" id="(\w+)-error">(.*?)</p>', re.S)
REFUSED_RCPT = "550 5.1.1"


@dataclass
class Tenants:
    """Domains acme.test and beta.test, one acme mailbox, every role signed in on demand."""

    env: object
    make_console: Callable[..., Awaitable[Console]]
    aiohttp_client: Callable
    app: object
    mailbox_id: str

    async def console(self, admin: str) -> Console:
        return await self.make_console(admin)

    async def api(self, admin: str):
        _, raw = self.env.store.tokens.create(admin, "scope-test")
        client = await self.aiohttp_client(self.app)
        client.headers = {"Authorization": f"Bearer {raw}"}
        return client


@pytest.fixture
async def tenants(env, make_console, aiohttp_client, app) -> Tenants:
    env.store.domains.add(OWN)
    env.store.domains.add(FOREIGN)
    for name, (role, domains) in ROLES.items():
        env.store.admins.create(name, role, domains, PASSWORD)
        env.admins[name] = role
    mailbox, _ = env.store.mailboxes.create(OWN, name="Acme journal", actor=None)
    return Tenants(env, make_console, aiohttp_client, app, mailbox.id)


@dataclass(frozen=True)
class Seen:
    """What the admin saw: the status code and the error shown (form field or JSON)."""

    status: int
    error: str | None


def form_error(page: str) -> str | None:
    found = ERROR_RE.search(page)
    return html.unescape(found.group(2)).strip() if found else None


async def console_create(tenants: Tenants, admin: str, domain: str, aliases: str = "") -> Seen:
    console = await tenants.console(admin)
    page = await console.get(f"/mailboxes/new?domain={domain}")
    once = re.search(r'name="once" value="([^"]+)"', page.body_text)
    form = {"domain": domain, "name": "Scoped", "quota": "0", "status": "active"}
    form |= {"aliases": aliases, "once": once.group(1) if once else ""}
    response = await console.post("/mailboxes/new", form)
    return Seen(response.status, form_error(response.body_text))


async def console_alias(tenants: Tenants, admin: str, address: str) -> Seen:
    console = await tenants.console(admin)
    path = f"/mailboxes/{tenants.mailbox_id}/aliases"
    response = await console.post(path, {"address": address})
    return Seen(response.status, form_error(response.body_text))


async def api_call(tenants: Tenants, admin: str, method: str, path: str, body: dict) -> Seen:
    client = await tenants.api(admin)
    response = await client.request(method, path, json=body, headers=client.headers)
    document = await response.json()
    return Seen(response.status, document.get("error") if response.status >= 400 else None)


async def api_create(tenants: Tenants, admin: str, domain: str, aliases=()) -> Seen:
    body = {"domain": domain, "name": "Scoped", "aliases": list(aliases)}
    return await api_call(tenants, admin, "POST", "/api/v1/mailboxes", body)


async def api_alias(tenants: Tenants, admin: str, address: str) -> Seen:
    path = f"/api/v1/mailboxes/{tenants.mailbox_id}/aliases"
    return await api_call(tenants, admin, "POST", path, {"address": address})


# Each way gives an acme mailbox the alias; its status when that works.
ALIAS_WAYS = {
    "console form create": (lambda t, a, x: console_create(t, a, OWN, aliases=x), 200),
    "console alias add": (console_alias, 303),
    "API create": (lambda t, a, x: api_create(t, a, OWN, aliases=[x]), 201),
    "API alias add": (api_alias, 201),
}


def refusal(outcome: str, address: str, console: bool) -> Seen:
    domain = address.rpartition("@")[2]
    return {
        "scope": Seen(403, f"{address}: {domain} is not one of your domains"),
        "unaccepted": Seen(400, f"{address}: its domain is not an accepted domain"),
        "forbidden": Seen(403, None if console else "forbidden"),
    }[outcome]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("way", ALIAS_WAYS)
@pytest.mark.parametrize("admin", ROLES)
async def test_an_alias_must_be_in_a_domain_the_admin_may_write(
    tenants, smtp_port, admin, way, target
):
    address = f"ceo-journal@{TARGETS[target]}"
    outcome = EXPECTED[admin][list(TARGETS).index(target)]
    before = tenants.env.store.mailboxes.list()
    add, ok_status = ALIAS_WAYS[way]
    seen = await add(tenants, admin, address)
    reply = await asyncio.to_thread(rcpt_reply, smtp_port, address)
    if outcome == "ok":
        assert seen == Seen(ok_status, None)
        assert tenants.env.store.mailboxes.get(address).domain == OWN
        assert reply.startswith("250"), reply
        return
    assert seen == refusal(outcome, address, way.startswith("console"))
    assert tenants.env.store.mailboxes.list() == before  # no mailbox, no alias, nothing
    assert reply.startswith(REFUSED_RCPT), reply


PRIMARY_WAYS = {"console form create": console_create, "API create": api_create}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("way", PRIMARY_WAYS)
@pytest.mark.parametrize("admin", ROLES)
async def test_a_mailbox_is_created_only_in_a_domain_the_admin_may_write(
    tenants, smtp_port, admin, way, target
):
    domain = TARGETS[target]
    outcome = EXPECTED[admin][list(TARGETS).index(target)]
    before = tenants.env.store.mailboxes.list()
    seen = await PRIMARY_WAYS[way](tenants, admin, domain)
    after = tenants.env.store.mailboxes.list()
    console = way.startswith("console")
    if outcome == "ok":
        assert seen == Seen(200 if console else 201, None)
        (created,) = [m for m in after if m not in before]
        assert created.domain == domain and created.address.endswith(f"@{domain}")
        reply = await asyncio.to_thread(rcpt_reply, smtp_port, created.address)
        assert reply.startswith("250"), reply
        return
    expected = {
        "scope": Seen(403, f"{domain} is not one of your domains"),
        "unaccepted": Seen(400, "Choose a domain.")
        if console
        else Seen(404, f"no domain {domain}"),
        "forbidden": Seen(403, None if console else "forbidden"),
    }[outcome]
    assert seen == expected
    assert after == before


async def test_scope_refusals_are_shown_in_the_admins_language(tenants):
    """The console translates the store's refusal (web.i18n.error_text); the API keeps
    the English sentence."""
    console = await tenants.console("acme-admin")
    await console.post("/settings/language", {"language": "de"})
    address = f"ceo-journal@{FOREIGN}"
    before = tenants.env.store.mailboxes.list()
    alias = await console_alias(tenants, "acme-admin", address)
    assert alias == Seen(403, f"{address}: {FOREIGN} ist keine Ihrer Domains")
    created = await console_create(tenants, "acme-admin", FOREIGN)
    assert created == Seen(403, f"{FOREIGN} ist keine Ihrer Domains")
    api = await api_alias(tenants, "acme-admin", address)
    assert api == Seen(403, f"{address}: {FOREIGN} is not one of your domains")
    assert tenants.env.store.mailboxes.list() == before


# --- removing a domain -------------------------------------------------------------


async def test_a_domain_still_used_by_an_alias_elsewhere_cannot_be_removed(tenants, smtp_port):
    """beta.test has no mailbox of its own, only an alias on the acme mailbox."""
    store = tenants.env.store
    store.mailboxes.add_alias(tenants.mailbox_id, f"postmaster@{FOREIGN}", actor=None)
    console = await tenants.console("root")
    refused = await console.post(f"/domains/{FOREIGN}/remove", {})
    page = await console.get(refused.headers["Location"])
    assert "still has mailboxes or aliases" in page.body_text
    assert tenants.mailbox_id in page.body_text
    client = await tenants.api("root")
    response = await client.delete(f"/api/v1/domains/{FOREIGN}", headers=client.headers)
    error = (await response.json())["error"]
    assert response.status == 409
    assert f"{tenants.mailbox_id} (alias postmaster@{FOREIGN})" in error
    assert FOREIGN in [d.name for d in store.domains.list()]
    reply = await asyncio.to_thread(rcpt_reply, smtp_port, f"postmaster@{FOREIGN}")
    assert reply.startswith("250"), reply
    store.mailboxes.remove_alias(tenants.mailbox_id, f"postmaster@{FOREIGN}")
    response = await client.delete(f"/api/v1/domains/{FOREIGN}", headers=client.headers)
    assert response.status == 204


# --- deleting a mailbox: only on hold or disabled, on every face ---------------------


async def console_delete(tenants: Tenants, mailbox) -> int:
    console = await tenants.console("root")
    response = await console.post(f"/mailboxes/{mailbox.id}/delete", {"confirm": mailbox.name})
    return response.status


async def api_delete(tenants: Tenants, mailbox) -> int:
    client = await tenants.api("root")
    path = f"/api/v1/mailboxes/{mailbox.id}?confirm={mailbox.id}"
    response = await client.delete(path, headers=client.headers)
    return response.status


@pytest.mark.parametrize(
    ("status", "deleted"),
    [("active", False), ("receive-only", False), ("hold", True), ("disabled", True)],
)
@pytest.mark.parametrize("face", ["console", "API"])
async def test_only_a_mailbox_on_hold_or_disabled_is_deleted(tenants, face, status, deleted):
    store = tenants.env.store
    mailbox, _ = store.mailboxes.create(OWN, name="Doomed", status=status, actor=None)
    deliver(store, mailbox.id)
    delete = console_delete if face == "console" else api_delete
    code = await delete(tenants, mailbox)
    if deleted:
        assert code == (303 if face == "console" else 200)
        assert store.mailboxes.find(mailbox.id) is None
    else:
        assert code == 409
        assert store.mailboxes.get(mailbox.id).messages == 1
