"""JSON admin API under /api/v1, authenticated by named API tokens (Bearer).

A token acts with its admin's role and domains. Responses are JSON; errors are
{"error": "..."} with a 4xx status. A passphrase appears only in the response of the
call that creates it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from aiohttp import web

from storage import actions
from storage.actions import Actor
from storage.errors import (
    AlreadyExists,
    ConfirmationNeeded,
    Forbidden,
    InvalidInput,
    NotDeletable,
    NotEmpty,
    NotFound,
    OutOfScope,
    StoreError,
    WrongPassphrase,
)
from storage.listing import MAX_LIMIT, DomainOverview, MailboxPage, MailboxQuery
from storage.models import Domain, Mailbox
from storage.policy import hand_overs, passphrase_age, reset_locked
from storage.timefmt import iso_utc

from ..security import access
from ..state import TOKEN, signed_in, state
from ..views import DAY, actor, domain_scope, list_page, scoped_mailbox, visible_domains
from .openapi import document

routes = web.RouteTableDef()
V1 = "/api/v1"
DEFAULT_LIMIT = 50
R = TypeVar("R")
T = TypeVar("T")


def api_error(status: int, message: str) -> web.HTTPException:
    cls = {
        400: web.HTTPBadRequest,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
        403: web.HTTPForbidden,
    }[status]
    return cls(text=json.dumps({"error": message}), content_type="application/json")


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise api_error(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise api_error(400, "the body must be a JSON object")
    return body


def domain_json(domain: Domain) -> dict[str, Any]:
    return {"name": domain.name, "mailboxes": domain.mailboxes, "created": iso_utc(domain.created)}


def mailbox_json(m: Mailbox, now: float, **extra: Any) -> dict[str, Any]:
    """A mailbox as the API shows it; `now` decides whether its passphrase is overdue.

    Times are ISO 8601 UTC strings (storage/timefmt.py), as in the CLI's JSON.
    """
    return {
        "id": m.id,
        "name": m.name,
        "description": m.description,
        "domain": m.domain,
        "address": m.address,
        "addresses": list(m.addresses),
        "aliases": list(m.aliases),
        "status": m.status,
        "quota": m.quota,
        "allowed_networks": list(m.allowed_networks),
        "protocols": list(m.protocols),
        "messages": m.messages,
        "bytes": m.bytes,
        "created": iso_utc(m.created),
        "last_login": iso_utc(m.last_login),
        **passphrase_age(m, now).document(),
        "reset_locked": reset_locked(m),
        "handed_over": [h.document() for h in hand_overs(m)],
        **extra,
    }


@routes.get(V1 + "/openapi.json")
@access("public")
async def openapi(request: web.Request) -> web.StreamResponse:
    return web.json_response(document())


@routes.get(V1 + "/me")
@access("viewer")
async def me(request: web.Request) -> web.StreamResponse:
    admin, token = signed_in(request), request[TOKEN]
    return web.json_response(
        {"name": admin.name, "role": admin.role, "domains": list(admin.domains), "token": token.id}
    )


@routes.get(V1 + "/stats")
@access("viewer")
async def stats(request: web.Request) -> web.StreamResponse:
    st = state(request)
    overview = await st.store.domains.overview(domain_scope(signed_in(request)), st.options.clock())
    by_status: dict[str, int] = {}
    for o in overview:
        for status, count in o.by_status.items():
            by_status[status] = by_status.get(status, 0) + count
    return web.json_response(
        {
            "domains": len(overview),
            "mailboxes": sum(o.mailboxes for o in overview),
            "by_status": by_status,
            "messages": sum(o.messages for o in overview),
            "bytes": sum(o.bytes for o in overview),
            "received_24h": sum(o.received_24h for o in overview),
        }
    )


@routes.get(V1 + "/domains")
@access("viewer")
async def list_domains(request: web.Request) -> web.StreamResponse:
    domains = await visible_domains(request)
    return web.json_response([domain_json(d) for d in domains])


@routes.post(V1 + "/domains")
@access("superadmin")
async def add_domain(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    wanted = actions.DomainName(str(body.get("name", "")))
    domain = await api_act(request, actions.add_domain, wanted)
    return web.json_response(domain_json(domain), status=201)


@routes.delete(V1 + "/domains/{domain}")
@access("superadmin")
async def remove_domain(request: web.Request) -> web.StreamResponse:
    name = request.match_info["domain"]
    try:
        await api_act(request, actions.remove_domain, actions.DomainName(name))
    except web.HTTPBadRequest:  # not a domain name at all
        raise api_error(404, f"no domain {name}") from None
    return web.Response(status=204)


def _int_param(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise api_error(400, f"{name} must be a whole number") from None


def _list_query(request: web.Request, limit: int) -> MailboxQuery:
    """The list's filters, sort and paging from the query string (bad ones: 400)."""
    direction = request.query.get("dir", "asc")
    if direction not in ("asc", "desc"):
        raise api_error(400, "dir must be asc or desc")
    return MailboxQuery(
        status=request.query.get("status") or None,
        search=request.query.get("q", ""),
        sort=request.query.get("sort", "name"),
        descending=direction == "desc",
        limit=_int_param(request, "limit", limit),
        cursor=request.query.get("cursor") or None,
        offset=_int_param(request, "offset", 0),
    )


async def _api_page(request: web.Request, wanted: MailboxQuery) -> tuple[list, MailboxPage]:
    domain = request.query.get("domain") or None
    try:
        return await list_page(request, wanted, domain)
    except InvalidInput as exc:
        raise api_error(400, str(exc)) from None


@routes.get(V1 + "/mailboxes")
@access("viewer")
async def list_mailboxes(request: web.Request) -> web.StreamResponse:
    """Paged ({"items", "next_cursor", "total"}) when limit, cursor or offset is given;
    otherwise, as before paging existed, a bare list of every matching mailbox."""
    now = state(request).options.clock()
    paged = any(key in request.query for key in ("limit", "cursor", "offset"))
    wanted = _list_query(request, DEFAULT_LIMIT if paged else MAX_LIMIT)
    rows, page = await _api_page(request, wanted)
    if paged:
        items = [
            mailbox_json(r.mailbox, now, received_24h=r.received_24h, sealed_messages=r.sealed)
            for r in rows
        ]
        return web.json_response(
            {"items": items, "next_cursor": page.next_cursor, "total": page.total}
        )
    everything = [r.mailbox for r in rows]
    while page.next_cursor is not None:  # the legacy shape: every page, 500 at a time
        rows, page = await _api_page(request, replace(wanted, cursor=page.next_cursor))
        everything.extend(r.mailbox for r in rows)
    return web.json_response([mailbox_json(m, now) for m in everything])


@routes.get(V1 + "/domains/overview")
@access("viewer")
async def domain_overview(request: web.Request) -> web.StreamResponse:
    st = state(request)
    scope = domain_scope(signed_in(request))
    overview = await st.store.domains.overview(scope, st.options.clock())
    return web.json_response([overview_json(o) for o in overview])


def overview_json(o: DomainOverview) -> dict[str, Any]:
    return {
        "name": o.name,
        "mailboxes": o.mailboxes,
        "by_status": o.by_status,
        "messages": o.messages,
        "bytes": o.bytes,
        "last_login": iso_utc(o.last_login),
        "received_24h": o.received_24h,
    }


@routes.get(V1 + "/mailboxes/{mailbox_id}")
@access("viewer")
async def get_mailbox(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    st = state(request)
    sealed = await st.store.keys.sealed_message_count(mailbox.id)
    now = st.options.clock()
    received = await st.store.messages.received_since(mailbox.id, now - DAY)
    return web.json_response(
        mailbox_json(mailbox, now, sealed_messages=sealed, received_24h=received)
    )


# How the API answers each store error an action raises (the first match wins).
_STATUS: tuple[tuple[type[StoreError], int], ...] = (
    (OutOfScope, 403),
    (Forbidden, 403),
    (NotFound, 404),
    (NotDeletable, 409),
    (NotEmpty, 409),
    (ConfirmationNeeded, 400),
    (AlreadyExists, 409),
    (InvalidInput, 400),
    (WrongPassphrase, 400),
)


async def api_act(
    request: web.Request,
    fn: Callable[[Any, Actor, R], T],
    wanted: R,
    say: Mapping[type[StoreError], str] | None = None,
) -> T:
    """Run an admin action as the token's admin; its error as {"error": ...} JSON, in
    the words of `say` for the error classes it names."""
    try:
        return await state(request).store.act(fn, actor(request), wanted)
    except StoreError as exc:
        message = next((text for cls, text in (say or {}).items() if type(exc) is cls), None)
        for cls, status in _STATUS:
            if isinstance(exc, cls):
                raise api_error(status, message or str(exc)) from None
            if isinstance(exc, cls):
                raise api_error(status, str(exc)) from None
        raise


async def api_mailbox(request: web.Request, write: bool = False) -> Mailbox:
    try:
        return await scoped_mailbox(request, write)
    except web.HTTPNotFound:
        raise api_error(404, "no such mailbox") from None
