"""Data the pages share: mailbox list pages, scoped lookups, audit writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from aiohttp import web

from storage.actions import Actor, AuditAction
from storage.errors import Forbidden, OutOfScope
from storage.listing import MailboxPage, MailboxQuery
from storage.models import Admin, Domain, Mailbox
from storage.policy import passphrase_age

from .security import can_see, can_write, require_domain, sees_all_domains
from .state import ADMIN, TOKEN, signed_in, state

R = TypeVar("R")
T = TypeVar("T")
DAY = 86400.0


@dataclass(frozen=True)
class MailboxRow:
    mailbox: Mailbox
    received_24h: int
    sealed: int
    passphrase_overdue: bool = False


def domain_scope(admin: Admin) -> tuple[str, ...] | None:
    """The domains an admin's list covers: None (every domain) or their own."""
    return None if sees_all_domains(admin) else tuple(admin.domains)


async def list_page(
    request: web.Request, wanted: MailboxQuery, domain: str | None = None
) -> tuple[list[MailboxRow], MailboxPage]:
    """One page of the mailboxes the admin may see (optionally of one domain): the
    store filters, sorts and pages it in a fixed number of statements."""
    st = state(request)
    admin = signed_in(request)
    scope = domain_scope(admin)
    if domain is not None:
        require_domain(admin, domain)
        scope = (domain,)
    now = st.options.clock()
    page = await st.store.mailboxes.page(replace(wanted, domains=scope, now=now))
    rows = [
        MailboxRow(r.mailbox, r.received_24h, r.sealed, passphrase_age(r.mailbox, now).overdue)
        for r in page.rows
    ]
    return rows, page


async def visible_domains(request: web.Request) -> list[Domain]:
    admin = signed_in(request)
    return [d for d in await state(request).store.domains.list() if can_see(admin, d.name)]


async def writable_domains(request: web.Request) -> list[Domain]:
    admin = signed_in(request)
    return [d for d in await state(request).store.domains.list() if can_write(admin, d.name)]


async def scoped_mailbox(request: web.Request, write: bool = False) -> Mailbox:
    """The mailbox named in the URL: 404 if unknown, 403 outside the admin's domains."""
    ref = request.match_info["mailbox_id"]
    mailbox = await state(request).store.mailboxes.find(ref)
    if mailbox is None:
        raise web.HTTPNotFound()
    require_domain(signed_in(request), mailbox.domain, write)
    return mailbox


def source_of(request: web.Request) -> str:
    """Where a request comes from, for the audit log: the client, and the API token."""
    source = request.remote or ""
    token = request.get(TOKEN)
    if token is not None:
        source = f"{source} api:{token.id}"
    return source


def actor(request: web.Request) -> Actor:
    """The signed-in admin (session or API token) as the actor of an admin action."""
    admin = request.get(ADMIN)
    if admin is None:  # never the operator: the guard lets no anonymous write through
        raise web.HTTPForbidden()
    return Actor(admin, source_of(request))


async def perform(
    request: web.Request,
    fn: Callable[[Any, Actor, R], T],
    wanted: R,
    *,
    keep: tuple[type[Exception], ...] = (),
) -> T:
    """Run an admin action as the request's admin. A refusal (role, domain scope) is a
    bare 403 unless it is one of `keep`, which the route renders itself."""
    try:
        return await state(request).store.act(fn, actor(request), wanted)
    except (OutOfScope, Forbidden) as exc:
        if isinstance(exc, keep):
            raise
        raise web.HTTPForbidden() from None


async def audit(
    request: web.Request, action: AuditAction, target: str = "", detail: str = ""
) -> None:
    """Record a console-only act (sign-in, sign-out...); admin actions record their
    own entries (storage/actions). Never pass a secret here."""
    admin: Admin | None = request.get(ADMIN)
    name = admin.name if admin is not None else "anonymous"
    await state(request).store.audit.record(name, str(action), target, detail, source_of(request))
