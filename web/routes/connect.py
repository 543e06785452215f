"""Connect: journal rule settings for senders, retrieval settings for archive software."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from aiohttp import web

from storage import actions
from storage.acme_status import AcmeStatus, read_status

from ..options import ConnectInfo
from ..render import render
from ..security import access, require_domain
from ..state import signed_in, state
from ..views import perform

routes = web.RouteTableDef()


@routes.get("/connect")
@access("viewer")
async def connect(request: web.Request) -> web.StreamResponse:
    st = state(request)
    mailbox = None
    ref = request.query.get("mailbox", "")[:320]
    if ref:
        mailbox = await st.store.mailboxes.find(ref)
        if mailbox is None:
            raise web.HTTPNotFound()
        require_domain(signed_in(request), mailbox.domain)
    info, acme = _with_acme(st.options.connect, st.options.data_dir)
    context = {
        "acme": acme,
        "nav": "connect",
        "info": info,
        "mailbox": mailbox,
        "address": mailbox.address if mailbox else "mbx-…@your-domain",
        "username": mailbox.id if mailbox else "mbx-…",
        "pop3": _choice(info.pop3s_port, info.pop3_port),
        "imap": _choice(info.imaps_port, info.imap_port),
        "metrics": _metrics_facts(request) if signed_in(request).role == "superadmin" else None,
    }
    return await render(request, "connect.html", context)


@routes.post("/connect/metrics-token")
@access("superadmin")
async def reveal_metrics_token(request: web.Request) -> web.StreamResponse:
    """The /metrics bearer token, on request: a POST, so no page shows it by itself."""
    facts = _metrics_facts(request)
    if not facts["enabled"]:
        raise web.HTTPNotFound()
    await perform(
        request, actions.reveal_metrics_token, actions.RevealMetricsToken(facts["source"])
    )
    context = {"nav": "connect", "metrics": facts, "token": state(request).options.metrics_token}
    return await render(request, "metrics_token.html", context)


def _metrics_facts(request: web.Request) -> dict:
    """What a superadmin needs to point Prometheus at /metrics, except the token."""
    options = state(request).options
    return {
        "enabled": bool(options.metrics_token),
        "source": options.metrics_token_source,
        "scheme": request.scheme,
        "target": request.host,
        "self_signed": _with_acme(options.connect, options.data_dir)[0].certificate_self_signed,
    }


def _with_acme(info: ConnectInfo, data_dir: Path) -> tuple[ConnectInfo, AcmeStatus | None]:
    """With tls.acme, the live certificate and the last attempt, as the manager left them
    (it may run in another worker or node: every process copies the store's status to
    DATA/tls/acme/status.json at tls.reload_interval, and web/ reads that copy)."""
    if not info.acme:
        return info, None
    status = read_status(data_dir) or AcmeStatus()
    if status.sha256:
        info = dataclasses.replace(
            info,
            certificate_sha256=status.sha256,
            certificate_expires=status.not_after,
            certificate_self_signed=False,
        )
    return info, status


def _choice(implicit: int | None, starttls: int | None) -> dict | None:
    """Prefer implicit TLS when that listener is on, else STARTTLS/STLS on the plain port."""
    if implicit:
        return {"port": implicit, "implicit": True}
    if starttls:
        return {"port": starttls, "implicit": False}
    return None
