"""JSON API: fetch sources (README: Fetch sources).

Credentials go in a "credentials" object on POST and PATCH (password, or the OAuth2
values) and are never returned. On PATCH, no "credentials" keeps the stored ones. The
rules are storage/sources.py's, the acts storage/actions/sources.py's.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage import actions
from storage.errors import Forbidden, NotFound, OutOfScope, SealError
from storage.sources import Source
from storage.timefmt import iso_utc

from ..security import access, can_see, can_write
from ..source_fields import CREDENTIAL_KEYS, NoRunner, run_job
from ..state import signed_in, state
from .api import V1, api_act, api_error, api_mailbox, json_body

routes = web.RouteTableDef()
SOURCE = V1 + "/sources/{source_id}"
_STRINGS = {"name", "protocol", "host", "username", "tls", "ca_file", "fingerprint", "auth",
            "comment"}  # fmt: skip
_BOOLS = {"insecure", "keep", "active"}
_INTS = {"port", "interval"}
_FIELDS = _STRINGS | _BOOLS | _INTS | {"folders", "credentials"}
_NO_RUNNER = "this process cannot reach fetch sources: use gateway source run"


def source_json(source: Source) -> dict[str, Any]:
    """The source as the API shows it: settings and last run, never a credential."""
    return source.document() | {
        "created": iso_utc(source.created),
        "last_run": iso_utc(source.last_run),
        "last_success": iso_utc(source.last_success),
        "failures": source.failures,
    }


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    """The body's fields, type-checked (the values are checked by the action)."""
    unknown = set(body) - _FIELDS
    if unknown:
        raise api_error(400, f"unknown fields: {', '.join(sorted(unknown))}")
    out = {k: _typed(k, v) for k, v in body.items() if v is not None}
    if "credentials" in out:
        extra = set(out["credentials"]) - set(CREDENTIAL_KEYS)
        if extra:
            raise api_error(400, f"unknown credentials: {', '.join(sorted(extra))}")
        out["secret"] = out.pop("credentials")
    return out


def _typed(key: str, value: Any) -> Any:
    if key in _STRINGS:
        ok = isinstance(value, str)
    elif key in _BOOLS:
        ok = isinstance(value, bool)
    elif key in _INTS:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif key == "folders":
        ok = isinstance(value, list) and all(isinstance(f, str) for f in value)
    else:
        ok = isinstance(value, dict)  # credentials
    if not ok:
        raise api_error(400, f"{key} has the wrong type")
    return tuple(value) if key == "folders" else value


async def _source(request: web.Request) -> Source:
    sid = request.match_info["source_id"]
    try:
        source: Source = await state(request).store.batch(lambda s: s.sources.get(sid))
    except NotFound:
        raise api_error(404, "no such source") from None
    return source


@routes.get(V1 + "/mailboxes/{mailbox_id}/sources")
@access("viewer")
async def list_sources(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request)
    sources = await state(request).store.batch(lambda s: s.sources.list(mailbox.id))
    return web.json_response({"id": mailbox.id, "sources": [source_json(s) for s in sources]})


@routes.post(V1 + "/mailboxes/{mailbox_id}/sources")
@access("domain-admin")
async def add_source(request: web.Request) -> web.StreamResponse:
    mailbox = await api_mailbox(request, write=True)
    fields = _fields(await json_body(request))
    missing = [k for k in ("name", "protocol", "host", "username", "secret") if k not in fields]
    if missing:
        names = ", ".join("credentials" if k == "secret" else k for k in missing)
        raise api_error(400, f"missing: {names}")
    wanted = actions.AddSource(mailbox=mailbox.id, **fields)
    source = await _act(request, actions.add_source, wanted)
    return web.json_response(source_json(source), status=201)


@routes.get(SOURCE)
@access("viewer")
async def show_source(request: web.Request) -> web.StreamResponse:
    source = await _source(request)
    await _scoped(request, source, write=False)
    return web.json_response(source_json(source))


@routes.patch(SOURCE)
@access("domain-admin")
async def update_source(request: web.Request) -> web.StreamResponse:
    source = await _source(request)
    fields = _fields(await json_body(request))
    if "protocol" in fields:
        raise api_error(400, "the protocol of a source cannot change: add a new source")
    wanted = actions.UpdateSource(source=source.id, **fields)
    return web.json_response(source_json(await _act(request, actions.update_source, wanted)))


@routes.delete(SOURCE)
@access("domain-admin")
async def remove_source(request: web.Request) -> web.StreamResponse:
    source = await _source(request)
    await _act(request, actions.remove_source, actions.SourceRef(source.id))
    return web.Response(status=204)


@routes.post(SOURCE + "/run")
@access("domain-admin")
async def run_source(request: web.Request) -> web.StreamResponse:
    """Fetch now: the counts, or {"busy": true} while another process fetches it."""
    return web.json_response((await _job(request, "fetch")).document())


@routes.post(SOURCE + "/test")
@access("domain-admin")
async def test_source(request: web.Request) -> web.StreamResponse:
    """Connect, sign in and list; nothing fetched, nothing recorded on the source."""
    return web.json_response((await _job(request, "check")).document())


async def _job(request: web.Request, kind: str) -> Any:
    source = await _source(request)
    await _scoped(request, source, write=True)
    try:
        return await run_job(request, kind, source.id)
    except NotFound:
        raise api_error(404, "no such source") from None
    except (OutOfScope, Forbidden) as exc:
        raise api_error(403, str(exc)) from None
    except NoRunner:
        raise web.HTTPServiceUnavailable(
            text=f'{{"error": "{_NO_RUNNER}"}}', content_type="application/json"
        ) from None


async def _scoped(request: web.Request, source: Source, write: bool) -> None:
    """403 unless the source's mailbox is in the token's admin's domains."""
    mailbox = await state(request).store.mailboxes.get(source.mailbox_id)
    if not (can_write if write else can_see)(signed_in(request), mailbox.domain):
        raise api_error(403, "this source is outside your domains")


async def _act(request: web.Request, fn: Any, wanted: Any) -> Any:
    try:
        return await api_act(request, fn, wanted)
    except SealError as exc:
        raise api_error(409, str(exc)) from None
