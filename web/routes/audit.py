"""The audit log (superadmin): admin actions and retrieval logins, filterable."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from ..render import render
from ..security import access
from ..state import state

routes = web.RouteTableDef()
PAGE = 100


@routes.get("/audit")
@access("superadmin")
async def audit_log(request: web.Request) -> web.StreamResponse:
    filters = {k: request.query.get(k, "")[:200].strip() for k in ("actor", "action", "target")}
    before = request.query.get("before", "")
    before_id = int(before) if before.isdigit() else None
    entries = await state(request).store.audit.list(
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        target=filters["target"] or None,
        limit=PAGE + 1,
        before_id=before_id,
    )
    more = len(entries) > PAGE
    entries = entries[:PAGE]
    next_url = ""
    if more:
        params = {k: v for k, v in filters.items() if v} | {"before": str(entries[-1].id)}
        next_url = "/audit?" + urlencode(params)
    context = {"nav": "audit", "entries": entries, "filters": filters, "next_url": next_url}
    return await render(request, "audit.html", context)
