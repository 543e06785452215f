"""Bulk acts on the mailbox list: change the status, export CSV, delete the deletable
ones after one typed confirmation (storage/actions/bulk.py does each act).

The list's form sends the ticked ids, or scope=matching with the list's view (its
query string): "every mailbox matching the filter" is then resolved by the store from
that filter, within the admin's domains, never from the ids the page showed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDictProxy

from storage import actions
from storage.bulk import Filter, Selection
from storage.errors import ConfirmationNeeded, InvalidInput, NotDeletable, NotFound
from storage.models import STATUSES

from .. import session
from ..csv_export import stream_csv
from ..i18n import _, error_text, ngettext
from ..list_query import ListView, read_view
from ..render import form_text, redirect, render
from ..security import access
from ..state import state
from ..views import perform

routes = web.RouteTableDef()
Form = MultiDictProxy[Any]
OPS = ("status", "export", "delete")


def _view(form: Form) -> ListView:
    """The list view the form was sent from (its query string, read leniently)."""
    return read_view(dict(parse_qsl(form_text(form, "view", 2000))))


def _selection(form: Form, view: ListView) -> Selection:
    if form_text(form, "scope", 20) == "matching":
        return Selection(filter=Filter(view.domain, view.status, view.search))
    return Selection(ids=tuple(i[:64] for i in _ids(form)))


def _ids(form: Form) -> list[str]:
    return [i for i in form.getall("ids", []) if isinstance(i, str)]


def _sentence(text: str) -> str:
    """A store error ("no mailbox matches the filter") as a sentence of its own."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


async def _back(
    request: web.Request, view: ListView, text: str, kind: str = "ok"
) -> web.HTTPSeeOther:
    """Back to the list view the form came from, with `text` shown there."""
    await session.flash(request, text, kind)
    return redirect(view.url())


@routes.post("/mailboxes/bulk")
@access("domain-admin")
async def bulk(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    view = _view(form)
    op = form_text(form, "op", 20)
    if op not in OPS:
        raise web.HTTPBadRequest()
    selection = _selection(form, view)
    try:
        if op == "status":
            return await _status(request, form, view, selection)
        if op == "export":
            now = state(request).options.clock()
            wanted = actions.ExportMailboxes(selection, now)
            exported = await perform(request, actions.export_mailboxes, wanted)
            return await stream_csv(request, exported.rows)
        return await _delete(request, form, view, selection)
    except (InvalidInput, NotFound) as exc:
        text = _sentence(error_text(exc)) + " " + _("Nothing was changed.")
        raise await _back(request, view, text, "error") from None


async def _status(
    request: web.Request, form: Form, view: ListView, selection: Selection
) -> web.StreamResponse:
    status = form_text(form, "status", 20)
    if status not in STATUSES:
        raise await _back(request, view, _("Choose the new status."), "error")
    wanted = actions.BulkStatus(selection, status, state(request).options.clock())
    done = await perform(request, actions.bulk_status, wanted)
    text = ngettext(
        "Status changed for %(num)d mailbox.",
        "Status changed for %(num)d mailboxes.",
        len(done.changed),
    ) % {"num": len(done.changed)}
    if done.unchanged:
        text += " " + ngettext(
            "%(num)d already had it.", "%(num)d already had it.", len(done.unchanged)
        ) % {"num": len(done.unchanged)}
    raise await _back(request, view, text)


async def _delete(
    request: web.Request, form: Form, view: ListView, selection: Selection
) -> web.StreamResponse:
    if form_text(form, "confirming", 5) != "yes":  # the first step: show what would happen
        plan = await perform(request, actions.plan_bulk_delete, selection)
        status = 200 if plan.deletable else 409
        return await _confirm_page(request, form, view, plan, status=status)
    typed = form_text(form, "confirm", 100)
    try:
        done = await perform(request, actions.bulk_delete, actions.BulkDelete(selection, typed))
    except (ConfirmationNeeded, NotDeletable) as exc:
        plan = await perform(request, actions.plan_bulk_delete, selection)
        error = _("You typed “%(typed)s”. Type %(count)s to delete them. Nothing was deleted.") % {
            "typed": typed,
            "count": plan.confirmation,
        }
        if isinstance(exc, NotDeletable):
            error = _sentence(error_text(exc))
        status = 400 if isinstance(exc, ConfirmationNeeded) else 409
        return await _confirm_page(request, form, view, plan, error, status)
    text = ngettext(
        "Deleted %(num)d mailbox with %(messages)d messages.",
        "Deleted %(num)d mailboxes with %(messages)d messages.",
        len(done.deleted),
    ) % {"num": len(done.deleted), "messages": done.messages_destroyed}
    if done.kept:
        text += " " + ngettext(
            "%(num)d was kept: only a mailbox on hold or disabled can be deleted.",
            "%(num)d were kept: only a mailbox on hold or disabled can be deleted.",
            len(done.kept),
        ) % {"num": len(done.kept)}
    raise await _back(request, view, text)


async def _confirm_page(
    request: web.Request,
    form: Form,
    view: ListView,
    plan: actions.bulk.DeletePlan,
    error: str = "",
    status: int = 200,
) -> web.Response:
    context = {
        "nav": "mailboxes",
        "plan": plan,
        "view": view,
        "view_query": form_text(form, "view", 2000),
        "scope": form_text(form, "scope", 20),
        "ids": _ids(form),
        "errors": {"confirm": error} if error else {},
        "shown": 50,
    }
    return await render(request, "mailboxes_bulk_delete.html", context, status=status)
