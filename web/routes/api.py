"""JSON admin API under /api/v1, authenticated by named API tokens (Bearer).

A token acts with its admin's role and domains. Responses are JSON; errors are
{"error": "..."} with a 4xx status. A passphrase appears only in the response of the
call that creates it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
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
from storage.models import Domain, Mailbox
from storage.policy import passphrase_age, reset_locked
from storage.timefmt import iso_utc

from ..security import access, can_see, require_domain
from ..state import TOKEN, signed_in, state
from ..views import DAY, actor, scoped_mailbox, visible_domains
from .openapi import document

routes = web.RouteTableDef()
V1 = "/api/v1"
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
    admin = signed_in(request)
    mailboxes = [m for m in await st.store.mailboxes.list() if can_see(admin, m.domain)]
    since = st.options.clock() - DAY
    received = await st.store.batch(
        lambda store: sum(store.messages.received_since(m.id, since) for m in mailboxes)
    )
    by_status: dict[str, int] = {}
    for m in mailboxes:
        by_status[m.status] = by_status.get(m.status, 0) + 1
    return web.json_response(
        {
            "domains": len(await visible_domains(request)),
            "mailboxes": len(mailboxes),
            "by_status": by_status,
            "messages": sum(m.messages for m in mailboxes),
            "bytes": sum(m.bytes for m in mailboxes),
            "received_24h": received,
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


@routes.get(V1 + "/mailboxes")
@access("viewer")
async def list_mailboxes(request: web.Request) -> web.StreamResponse:
    domain = request.query.get("domain") or None
    admin = signed_in(request)
    if domain is not None:
        require_domain(admin, domain)
    try:
        mailboxes = await state(request).store.mailboxes.list(domain)
    except InvalidInput as exc:
        raise api_error(400, str(exc)) from None
    now = state(request).options.clock()
    return web.json_response([mailbox_json(m, now) for m in mailboxes if can_see(admin, m.domain)])


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
