"""Mailbox list (search, sort, pages), creation with the one-time passphrase, overview."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from storage import actions
from storage.errors import AlreadyExists, InvalidInput, NotFound, OutOfScope
from storage.models import STATUSES
from storage.policy import (
    hand_overs,
    max_age_choice,
    max_age_days,
    passphrase_age,
    reset_locked,
)

from .. import session
from ..forms import FieldError, parse_size
from ..i18n import _, error_text
from ..list_query import PAGE_SIZES, read_view
from ..render import form_lines, form_text, redirect, render
from ..security import access
from ..state import signed_in, state
from ..views import (
    actor,
    list_page,
    scoped_mailbox,
    visible_domains,
    writable_domains,
)

routes = web.RouteTableDef()
UNCONFIRMED = actions.PASSPHRASE_UNCONFIRMED


@routes.get("/mailboxes")
@access("viewer")
async def mailboxes(request: web.Request) -> web.StreamResponse:
    view = read_view(request.query)
    domains = await visible_domains(request)
    if view.domain is not None and view.domain not in {d.name for d in domains}:
        if signed_in(request).role == "superadmin":
            raise web.HTTPNotFound()
        raise web.HTTPForbidden()
    rows, page = await list_page(request, view.query(), view.domain)
    pages = max(1, -(-page.total // view.size))
    if view.page > pages:  # a bookmark past the end (mailboxes were removed): the last page
        view = replace(view, page=pages)
        rows, page = await list_page(request, view.query(), view.domain)
    context = {
        "nav": "mailboxes",
        "rows": rows,
        "view": view,
        "total": page.total,
        "pages": pages,
        "first": (view.page - 1) * view.size + 1 if rows else 0,
        "last": (view.page - 1) * view.size + len(rows),
        "page_sizes": PAGE_SIZES,
        "statuses": STATUSES,
        "domains": domains,
        "can_create": bool(await writable_domains(request)),
    }
    context["can_bulk"] = context["can_create"]  # the same: writes in one's own domains
    return await render(request, "mailboxes.html", context)


async def _new_page(
    request: web.Request, values: dict, errors: dict | None = None, status: int = 200
) -> web.Response:
    domains = await writable_domains(request)
    if not domains:
        await session.flash(request, _("Add a domain before creating mailboxes."), "error")
        raise redirect("/domains")
    context = {
        "nav": "mailboxes",
        "domains": domains,
        "values": values,
        "errors": errors or {},
        "statuses": STATUSES,
        "once": session.new_once(),
    }
    return await render(request, "mailbox_new.html", context, status=status)


@routes.get("/mailboxes/new")
@access("domain-admin")
async def new_mailbox_page(request: web.Request) -> web.StreamResponse:
    values = {"domain": request.query.get("domain", ""), "status": "active", "quota": "0"}
    return await _new_page(request, values)


@routes.post("/mailboxes/new")
@access("domain-admin")
async def create_mailbox(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    done = session.once_used(request, form_text(form, "once", 64))
    if done:
        await session.flash(
            request, _("This form was already sent. A passphrase is shown only once."), "warn"
        )
        raise redirect(done)
    values = {
        "domain": form_text(form, "domain", 253),
        "name": form_text(form, "name", 200),
        "description": form_text(form, "description", 2000),
        "aliases": "\n".join(form_lines(form, "aliases")),
        "quota": form_text(form, "quota", 40) or "0",
        "status": form_text(form, "status", 20) or "active",
    }
    errors: dict[str, str] = {}
    try:
        quota = parse_size(values["quota"])
    except FieldError as exc:
        errors["quota"], quota = str(exc), 0
    if values["status"] not in STATUSES:
        errors["status"] = _("Choose one of the statuses.")
    if errors:
        return await _new_page(request, values, errors, 400)
    wanted = actions.CreateMailbox(
        values["domain"],
        name=values["name"],
        description=values["description"],
        aliases=tuple(form_lines(form, "aliases")),
        quota=quota,
        status=values["status"],
        await_acknowledgement=True,
    )
    try:
        created = await state(request).store.act(actions.create_mailbox, actor(request), wanted)
    except OutOfScope as exc:  # the domain, or an alias, is not one of the admin's
        field = "aliases" if exc.address else "domain"
        return await _new_page(request, values, {field: error_text(exc)}, 403)
    except NotFound:
        return await _new_page(request, values, {"domain": _("Choose a domain.")}, 400)
    except (InvalidInput, AlreadyExists) as exc:
        return await _new_page(request, values, {"aliases": error_text(exc)}, 400)
    mailbox = created.mailbox
    await session.mark_once(request, form_text(form, "once", 64), f"/mailboxes/{mailbox.id}")
    return await show_passphrase(request, mailbox, created.passphrase, "created")


async def show_passphrase(
    request: web.Request, mailbox: object, passphrase: str, kind: str, status: int = 200
) -> web.Response:
    """The one and only page that shows a mailbox passphrase. Cache-Control: no-store."""
    context = {"nav": "mailboxes", "mailbox": mailbox, "passphrase": passphrase, "kind": kind}
    return await render(request, "passphrase_once.html", context, status=status)


@routes.post("/mailboxes/{mailbox_id}/stored")
@access("domain-admin")
async def acknowledge(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request)
    form = await request.post()
    target = f"/mailboxes/{mailbox.id}"
    if form.get("stored") != "yes":
        await session.flash(
            request,
            _("You did not confirm that the passphrase is stored. If it is lost, reset it."),
            "error",
        )
        raise redirect(target)
    await state(request).store.act(
        actions.acknowledge_passphrase, actor(request), actions.AcknowledgePassphrase(mailbox.id)
    )
    await session.flash(request, _("Done. The passphrase is no longer shown anywhere."))
    raise redirect(target)


@routes.get("/mailboxes/{mailbox_id}")
@access("viewer")
async def mailbox_page(request: web.Request) -> web.StreamResponse:
    mailbox = await scoped_mailbox(request)
    st = state(request)
    since = st.options.clock() - 86400
    robot = await st.store.robots.get(mailbox.id)
    context = {
        "nav": "mailboxes",
        "mailbox": mailbox,
        "epochs": await st.store.keys.list_epochs(mailbox.id),
        "sealed": await st.store.keys.sealed_message_count(mailbox.id),
        "received_24h": await st.store.messages.received_since(mailbox.id, since),
        "events": await st.store.audit.list(target=mailbox.id, limit=20),
        "relays": await st.store.relays.list(mailbox.id),
        "unconfirmed": bool(mailbox.settings.get(UNCONFIRMED)),
        "passphrase": passphrase_age(mailbox, st.options.clock()),
        "max_age_choice": max_age_choice(max_age_days(mailbox)),
        "reset_locked": reset_locked(mailbox),
        "hand_overs": hand_overs(mailbox),
        "robot": robot,
        "robot_active": robot is not None and robot.active(st.options.clock()),
    }
    return await render(request, "mailbox.html", context)
