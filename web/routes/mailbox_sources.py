"""A mailbox's fetch sources in the console: list, add, edit, remove, fetch now and
test the connection (the Sources page of the mailbox).

Everything shown is admin data, escaped by Jinja. Credentials are write-only: the
forms never carry them back (empty fields, autocomplete="new-password"), and "leave
empty to keep" on the edit form. "Fetch now" runs one fetch and shows its counts;
"test connection" signs in and lists, fetching and recording nothing.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage import actions
from storage.errors import AlreadyExists, Forbidden, InvalidInput, NotFound, OutOfScope, SealError
from storage.models import Mailbox
from storage.sources import DEFAULT_INTERVAL, Source

from .. import session
from ..i18n import _, error_text
from ..render import redirect, render
from ..security import access, can_write
from ..source_fields import NoRunner, add_request, form_secret, form_values, run_job, update_request
from ..state import signed_in, state
from ..views import perform, scoped_mailbox

routes = web.RouteTableDef()
SOURCES = "/mailboxes/{mailbox_id}/sources"
ONE = SOURCES + "/{source_id}"
NEW_VALUES = {"name": "", "protocol": "imap", "host": "", "port": "", "tls": "implicit",
              "insecure": "", "ca_file": "", "fingerprint": "", "username": "",
              "auth": "password", "folders": "INBOX", "keep": "", "interval": str(DEFAULT_INTERVAL),
              "comment": "", "active": "on"}  # fmt: skip


def _values(source: Source) -> dict[str, str]:
    s = source.settings
    return {"name": source.name, "protocol": s.protocol, "host": s.host, "port": str(s.port),
            "tls": s.tls, "insecure": "on" if s.insecure else "", "ca_file": s.ca_file or "",
            "fingerprint": s.fingerprint or "", "username": s.username, "auth": s.auth,
            "folders": "\n".join(s.folders), "keep": "on" if s.keep else "",
            "interval": str(s.interval), "comment": source.comment,
            "active": "on" if source.active else ""}  # fmt: skip


async def _page(
    request: web.Request, mailbox: Mailbox, *, values: dict | None = None,
    errors: dict | None = None, result: dict | None = None, status: int = 200,
) -> web.Response:  # fmt: skip
    sources = await state(request).store.batch(lambda s: s.sources.list(mailbox.id))
    context = {
        "nav": "mailboxes",
        "mailbox": mailbox,
        "sources": sources,
        "writable": can_write(signed_in(request), mailbox.domain),
        "values": values or NEW_VALUES,
        "errors": errors or {},
        "result": result,
    }
    return await render(request, "mailbox_sources.html", context, status=status)


async def _edit_page(
    request: web.Request, mailbox: Mailbox, source: Source, values: dict,
    errors: dict | None = None, status: int = 200,
) -> web.Response:  # fmt: skip
    context = {"nav": "mailboxes", "mailbox": mailbox, "source": source, "values": values,
               "errors": errors or {}}  # fmt: skip
    return await render(request, "source_edit.html", context, status=status)


async def _source(request: web.Request, mailbox: Mailbox) -> Source:
    """The source in the URL, when it is one of this mailbox's (404 otherwise)."""
    sid = request.match_info["source_id"]
    try:
        source: Source = await state(request).store.batch(lambda s: s.sources.get(sid))
    except NotFound:
        raise web.HTTPNotFound() from None
    if source.mailbox_id != mailbox.id:
        raise web.HTTPNotFound()
    return source


@routes.get(SOURCES)
@access("viewer")
async def sources_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, await scoped_mailbox(request))


@routes.post(SOURCES)
@access("domain-admin")
async def add_source(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    form = await request.post()
    values = form_values(form)
    try:
        wanted = add_request(mailbox.id, values, form_secret(form))
        source = await perform(request, actions.add_source, wanted)
    except AlreadyExists:
        errors = {"name": _("This mailbox already has a source of that name.")}
        return await _page(request, mailbox, values=values, errors=errors, status=400)
    except (InvalidInput, SealError) as exc:
        errors = {"form": error_text(exc)}
        return await _page(request, mailbox, values=values, errors=errors, status=400)
    await session.flash(request, _("Source %(name)s added.") % {"name": source.name})
    raise redirect(f"/mailboxes/{mailbox.id}/sources")


@routes.get(ONE)
@access("domain-admin")
async def edit_page(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    source = await _source(request, mailbox)
    return await _edit_page(request, mailbox, source, _values(source))


@routes.post(ONE)
@access("domain-admin")
async def update_source(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    source = await _source(request, mailbox)
    form = await request.post()
    values = form_values(form) | {"protocol": source.settings.protocol}
    try:
        wanted = update_request(source.id, values, form_secret(form))
        await perform(request, actions.update_source, wanted)
    except AlreadyExists:
        errors = {"name": _("This mailbox already has a source of that name.")}
        return await _edit_page(request, mailbox, source, values, errors, 400)
    except (InvalidInput, SealError) as exc:
        errors = {"form": error_text(exc)}
        return await _edit_page(request, mailbox, source, values, errors, 400)
    await session.flash(request, _("Source %(name)s saved.") % {"name": values["name"]})
    raise redirect(f"/mailboxes/{mailbox.id}/sources")


@routes.post(ONE + "/remove")
@access("domain-admin")
async def remove_source(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    source = await _source(request, mailbox)
    form = await request.post()
    if form.get("confirm") != "yes":
        result = {"source": source, "error": _("Tick the box to confirm the removal.")}
        return await _page(request, mailbox, result=result, status=400)
    await perform(request, actions.remove_source, actions.SourceRef(source.id))
    await session.flash(request, _("Source %(name)s removed.") % {"name": source.name})
    raise redirect(f"/mailboxes/{mailbox.id}/sources")


@routes.post(ONE + "/run")
@access("domain-admin")
async def run_source(request: web.Request) -> web.StreamResponse:
    return await _job(request, "fetch")


@routes.post(ONE + "/test")
@access("domain-admin")
async def test_source(request: web.Request) -> web.StreamResponse:
    return await _job(request, "check")


async def _job(request: web.Request, kind: str) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request, write=True)
    source = await _source(request, mailbox)
    result: dict[str, Any] = {"source": source, "kind": kind}
    try:
        result["outcome"] = await _perform_job(request, kind, source.id)
    except NoRunner:
        result["error"] = _("This process cannot reach fetch sources: use gateway source run.")
    return await _page(request, mailbox, result=result)


async def _perform_job(request: web.Request, kind: str, source_id: str) -> Any:
    try:
        return await run_job(request, kind, source_id)
    except NotFound:  # removed meanwhile
        raise web.HTTPNotFound() from None
    except (OutOfScope, Forbidden):
        raise web.HTTPForbidden() from None
