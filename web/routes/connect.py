"""Connect: journal rule settings for senders, retrieval settings for archive software."""

from __future__ import annotations

from aiohttp import web

from ..render import render
from ..security import access, require_domain
from ..state import ADMIN, state

routes = web.RouteTableDef()


@routes.get("/connect")
@access("viewer")
async def connect(request: web.Request) -> web.StreamResponse:
    st = state(request)
    mailbox = None
    ref = request.query.get("mailbox", "")[:320]
    if ref:
        mailbox = await st.store.find_mailbox(ref)
        if mailbox is None:
            raise web.HTTPNotFound()
        require_domain(request[ADMIN], mailbox.domain)
    info = st.options.connect
    context = {
        "nav": "connect",
        "info": info,
        "mailbox": mailbox,
        "address": mailbox.address if mailbox else "mbx-…@your-domain",
        "username": mailbox.id if mailbox else "mbx-…",
        "pop3": _choice(info.pop3s_port, info.pop3_port),
        "imap": _choice(info.imaps_port, info.imap_port),
    }
    return await render(request, "connect.html", context)


def _choice(implicit: int | None, starttls: int | None) -> dict | None:
    """Prefer implicit TLS when that listener is on, else STARTTLS/STLS on the plain port."""
    if implicit:
        return {"port": implicit, "implicit": True}
    if starttls:
        return {"port": starttls, "implicit": False}
    return None
