"""Bulk mailbox actions: change the status of many, delete the deletable ones after one
typed confirmation, export them as CSV rows.

A selection (storage/bulk.py) is resolved here, under the actor's domain scope: by id
(every id must exist and be in scope, or nothing happens) or by filter (only the
actor's domains are ever searched). Each changed mailbox gets its own audit entry,
which names the bulk reference that the act's summary entry also carries; all of it in
one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import policy
from ..bulk import Selection, confirmation_text, confirmed, new_reference
from ..errors import ConfirmationNeeded, InvalidInput, NotDeletable, NotFound, OutOfScope
from ..listing import MAX_LIMIT, MailboxListRow, MailboxQuery
from ..models import STATUSES, Mailbox
from .audit import AuditAction
from .base import API, CLI, CONSOLE, Actor, action, record, require_role


def _scope(actor: Actor) -> tuple[str, ...] | None:
    """The domains the actor may change: None for every domain."""
    if actor.admin is None or actor.admin.role == "superadmin":
        return None
    return tuple(actor.admin.domains) if actor.admin.role == "domain-admin" else ()


def _pages(store: Any, query: MailboxQuery) -> list[MailboxListRow]:
    """Every row of `query`, a few statements per 500 rows (no query per mailbox)."""
    found: list[MailboxListRow] = []
    cursor = None
    while True:
        page = store.mailboxes.page(MailboxQuery(**{**query.__dict__, "cursor": cursor}))
        found.extend(page.rows)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def resolve(
    store: Any, actor: Actor, selection: Selection, now: float | None = None
) -> list[MailboxListRow]:
    """The selected mailboxes the actor may change, by name: NotFound for an unknown
    id, OutOfScope for one in another domain (the whole selection is then refused),
    InvalidInput when nothing is selected."""
    require_role(actor, "domain-admin")
    wanted = selection.checked()
    scope = _scope(actor)
    if wanted.ids is not None:
        rows = _by_ids(store, wanted.ids, now)
        for row in rows:
            if not policy.may_write_domain(actor.admin, row.mailbox.domain):
                raise OutOfScope("{domain} is not one of your domains", domain=row.mailbox.domain)
        return rows
    chosen = wanted.filter
    assert chosen is not None
    if chosen.domain is not None:
        if not policy.may_write_domain(actor.admin, chosen.domain):
            raise OutOfScope("{domain} is not one of your domains", domain=chosen.domain)
        scope = (chosen.domain,)
    query = MailboxQuery(
        domains=scope, status=chosen.status, search=chosen.search, limit=MAX_LIMIT, now=now
    )
    rows = _pages(store, query)
    if not rows:
        raise InvalidInput("no mailbox matches the filter")
    return rows


def _by_ids(store: Any, ids: tuple[str, ...], now: float | None) -> list[MailboxListRow]:
    rows: list[MailboxListRow] = []
    for start in range(0, len(ids), MAX_LIMIT):
        chunk = ids[start : start + MAX_LIMIT]
        rows.extend(_pages(store, MailboxQuery(ids=chunk, limit=MAX_LIMIT, now=now)))
    missing = set(ids) - {r.mailbox.id for r in rows}
    if missing:
        raise NotFound("no mailbox {mailbox}", mailbox=min(missing))
    return sorted(rows, key=lambda r: (r.mailbox.name.lower(), r.mailbox.id))


@dataclass(frozen=True)
class BulkStatus:
    selection: Selection
    status: str
    now: float | None = None


@dataclass(frozen=True)
class BulkStatusDone:
    reference: str
    changed: list[Mailbox]
    unchanged: list[Mailbox]  # already had the status


@action(CONSOLE, API, CLI)
def bulk_status(store: Any, actor: Actor, request: BulkStatus) -> BulkStatusDone:
    """Give every selected mailbox `status`. Audit: `mailbox.update` per mailbox changed
    ("status=hold bulk=REF"), then `mailbox.bulk-status` on REF."""
    if request.status not in STATUSES:
        raise InvalidInput("status must be one of {choices}", choices=", ".join(STATUSES))
    rows = resolve(store, actor, request.selection, request.now)
    reference = new_reference()
    changed, unchanged = [], []
    with store.atomic():
        for row in rows:
            if row.mailbox.status == request.status:
                unchanged.append(row.mailbox)
                continue
            changed.append(store.mailboxes.update(row.mailbox.id, status=request.status))
            detail = f"status={request.status} bulk={reference}"
            record(store, actor, AuditAction.MAILBOX_UPDATE, row.mailbox.id, detail)
        summary = f"status={request.status} changed={len(changed)} unchanged={len(unchanged)}"
        record(store, actor, AuditAction.MAILBOX_BULK_STATUS, reference, summary)
    return BulkStatusDone(reference, changed, unchanged)


@dataclass(frozen=True)
class DeletePlan:
    """What a bulk deletion of a selection would do, and what to type to confirm it."""

    deletable: list[Mailbox]
    kept: list[Mailbox]  # not on hold or disabled (storage/policy.py): never deleted

    @property
    def confirmation(self) -> str:
        return confirmation_text(len(self.deletable))

    @property
    def messages(self) -> int:
        return sum(m.messages for m in self.deletable)


def plan_bulk_delete(store: Any, actor: Actor, selection: Selection) -> DeletePlan:
    """The deletion a selection asks for, shown before it is confirmed; writes nothing."""
    rows = resolve(store, actor, selection)
    deletable = [r.mailbox for r in rows if policy.is_deletable(r.mailbox)]
    kept = [r.mailbox for r in rows if not policy.is_deletable(r.mailbox)]
    return DeletePlan(deletable, kept)


@dataclass(frozen=True)
class BulkDelete:
    selection: Selection
    confirm: str | None  # what the admin typed: the number of mailboxes to delete


@dataclass(frozen=True)
class BulkDeleted:
    reference: str
    deleted: list[Mailbox]
    kept: list[Mailbox]
    messages_destroyed: int


@action(CONSOLE, API, CLI)
def bulk_delete(store: Any, actor: Actor, request: BulkDelete) -> BulkDeleted:
    """Delete the deletable mailboxes of the selection, with their messages, once the
    admin typed their number; the others are kept and reported. A wrong confirmation
    (ConfirmationNeeded) deletes nothing. Audit: `mailbox.delete` per mailbox
    ("messages=N bulk=REF"), then `mailbox.bulk-delete` on REF."""
    plan = plan_bulk_delete(store, actor, request.selection)
    if not plan.deletable:
        raise NotDeletable(
            "none of the {count} selected mailboxes can be deleted: only a mailbox on hold"
            " or disabled can",
            count=len(plan.kept),
        )
    if not confirmed(request.confirm, len(plan.deletable)):
        raise ConfirmationNeeded(
            "to delete {count} mailboxes and their messages, confirm with {confirm}",
            count=len(plan.deletable),
            confirm=plan.confirmation,
        )
    reference = new_reference()
    destroyed = 0
    with store.atomic():
        for mailbox in plan.deletable:
            detail = f"messages={mailbox.messages} bulk={reference}"
            record(store, actor, AuditAction.MAILBOX_DELETE, mailbox.id, detail)
            destroyed += store.mailboxes.delete(mailbox.id, force=True)
        summary = f"deleted={len(plan.deletable)} kept={len(plan.kept)}"
        record(store, actor, AuditAction.MAILBOX_BULK_DELETE, reference, summary)
    return BulkDeleted(reference, plan.deletable, plan.kept, destroyed)


@dataclass(frozen=True)
class ExportMailboxes:
    selection: Selection
    now: float | None = None  # "received in 24 h" counts back from it


@dataclass(frozen=True)
class MailboxesExported:
    reference: str
    rows: list[MailboxListRow] = field(default_factory=list)


@action(CONSOLE, API, CLI)
def export_mailboxes(store: Any, actor: Actor, request: ExportMailboxes) -> MailboxesExported:
    """The selected mailboxes' rows for the CSV export (storage/bulk.py has its columns).
    Audit: one `mailbox.list-export` entry with the number of mailboxes."""
    rows = resolve(store, actor, request.selection, request.now)
    reference = new_reference()
    with store.atomic():
        record(store, actor, AuditAction.MAILBOX_LIST_EXPORT, reference, f"mailboxes={len(rows)}")
    return MailboxesExported(reference, rows)
