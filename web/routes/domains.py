"""Domains: list with a per-domain overview (in scope); add, remove (superadmin, when empty)."""

from __future__ import annotations

from aiohttp import web

from storage import actions
from storage.errors import AlreadyExists, DomainInUse, InvalidInput, NotFound

from .. import session
from ..i18n import _
from ..render import form_text, redirect, render
from ..security import access
from ..state import signed_in, state
from ..views import domain_scope, perform, visible_domains

routes = web.RouteTableDef()


def _first_few(names: tuple[str, ...], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (", …" if len(names) > shown else "")


async def _page(
    request: web.Request, errors: dict | None = None, values: dict | None = None, status: int = 200
) -> web.Response:
    st = state(request)
    overview = await st.store.domains.overview(domain_scope(signed_in(request)), st.options.clock())
    context = {
        "nav": "domains",
        "domains": await visible_domains(request),
        "overview": {o.name: o for o in overview},
        "errors": errors or {},
        "values": values or {},
    }
    return await render(request, "domains.html", context, status=status)


@routes.get("/domains")
@access("viewer")
async def domains(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post("/domains")
@access("superadmin")
async def add_domain(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = form_text(form, "name", 253)
    try:
        domain = await perform(request, actions.add_domain, actions.DomainName(name))
    except InvalidInput:
        message = _("Enter a domain name such as example.com.")
        return await _page(request, {"name": message}, {"name": name}, 400)
    except AlreadyExists:
        message = _("This domain already exists.")
        return await _page(request, {"name": message}, {"name": name}, 409)
    await session.flash(request, _("Domain %(name)s added.") % {"name": domain.name})
    raise redirect("/domains")


@routes.post("/domains/{domain}/remove")
@access("superadmin")
async def remove_domain(request: web.Request) -> web.StreamResponse:
    name = request.match_info["domain"]
    try:
        await perform(request, actions.remove_domain, actions.DomainName(name))
    except (NotFound, InvalidInput):
        raise web.HTTPNotFound() from None
    except DomainInUse as exc:
        text = _(
            "%(name)s still has mailboxes or aliases: %(mailboxes)s. Delete those mailboxes"
            " or remove their aliases in %(name)s first."
        ) % {"name": exc.domain, "mailboxes": _first_few(exc.mailboxes)}
        await session.flash(request, text, "error")
        raise redirect("/domains") from None
    await session.flash(request, _("Domain %(name)s removed.") % {"name": name})
    raise redirect("/domains")
