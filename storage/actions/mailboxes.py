"""Mailbox actions: create, update (fields, aliases, passphrase policy), delete, and the
"passphrase stored" acknowledgement."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Any

from .. import policy
from ..errors import Forbidden, NotDeletable
from ..models import Mailbox
from .aliases import AliasChange, add_alias, remove_alias
from .audit import AuditAction
from .base import API, CLI, CONSOLE, Actor, action, record, require_role, scoped_mailbox

# Set while a passphrase shown in the console waits for "I have stored it".
PASSPHRASE_UNCONFIRMED = "passphrase_unconfirmed"  # noqa: S105 (a settings key)
# The key of the bulk-import row that made a mailbox (`gateway mailbox import`): a re-run
# skips rows whose key a mailbox already has.
IMPORT_KEY = "import_key"
_AUDITED_FIELDS = ("name", "status", "quota", "allowed_networks", "protocols")


class Keep(enum.Enum):
    """A request field left as it is (where None is a value: "no maximum age")."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class CreateMailbox:
    domain: str
    name: str = ""
    description: str = ""
    aliases: tuple[str, ...] = ()
    quota: int = 0  # bytes, 0 = unlimited
    status: str = "active"
    await_acknowledgement: bool = False  # ask for "passphrase stored" (the console does)
    import_key: str = ""  # the bulk-import row it comes from, kept in its settings


@dataclass(frozen=True)
class MailboxCreated:
    mailbox: Mailbox
    passphrase: str  # shown once, never stored


@action(CONSOLE, API, CLI)
def create_mailbox(store: Any, actor: Actor, request: CreateMailbox) -> MailboxCreated:
    """A new mailbox in a domain of the actor's (the store checks domain and aliases)."""
    require_role(actor, "domain-admin")
    with store.atomic():
        mailbox, passphrase = store.mailboxes.create(
            request.domain,
            name=request.name,
            description=request.description,
            aliases=request.aliases,
            quota=request.quota,
            status=request.status,
            actor=actor.admin,
        )
        settings = _creation_settings(request)
        if settings:
            mailbox = store.mailboxes.update(mailbox.id, settings_update=settings)
        record(store, actor, AuditAction.MAILBOX_CREATE, mailbox.id, f"domain={mailbox.domain}")
    return MailboxCreated(mailbox, passphrase)


def _creation_settings(request: CreateMailbox) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if request.await_acknowledgement:
        settings[PASSPHRASE_UNCONFIRMED] = True
    if request.import_key:
        settings[IMPORT_KEY] = request.import_key
    return settings


@dataclass(frozen=True)
class UpdateMailbox:
    """Fields left None (or KEEP) are not changed; all changes apply, or none."""

    ref: str
    name: str | None = None
    description: str | None = None
    status: str | None = None
    quota: int | None = None
    allowed_networks: tuple[str, ...] | None = None
    protocols: tuple[str, ...] | None = None
    max_age_days: int | None | Keep = KEEP  # None: no maximum age
    reset_locked: bool | None = None
    add_aliases: tuple[str, ...] = ()
    remove_aliases: tuple[str, ...] = ()


@action(CONSOLE, API, CLI)
def update_mailbox(store: Any, actor: Actor, request: UpdateMailbox) -> Mailbox:
    """Audit: `mailbox.update` with what changed, one entry per alias added or removed,
    and the passphrase policy's own entries."""
    before = scoped_mailbox(store, actor, request.ref)
    settings = _policy_settings(store, actor, before, request)
    fields = {
        key: getattr(request, key)
        for key in ("name", "description", "status", "quota", "allowed_networks", "protocols")
        if getattr(request, key) is not None
    }
    with store.atomic():
        for address in request.remove_aliases:
            before = remove_alias(store, actor, AliasChange(before.id, address)).mailbox
        for address in request.add_aliases:
            before = add_alias(store, actor, AliasChange(before.id, address)).mailbox
        after = before
        if fields or settings:
            after = store.mailboxes.update(before.id, **fields, settings_update=settings or None)
        changes = field_changes(before, after)
        if changes:
            record(store, actor, AuditAction.MAILBOX_UPDATE, after.id, changes)
        _record_policy(store, actor, after.id, settings)
    return after


def field_changes(before: Mailbox, after: Mailbox) -> str:
    """ "status=hold quota=0 description": what an update changed, for the audit log."""
    parts = []
    for key in _AUDITED_FIELDS:
        old, new = getattr(before, key), getattr(after, key)
        if old != new:
            shown = ",".join(new) if isinstance(new, tuple) else new
            parts.append(f"{key}={shown}")
    if before.description != after.description:
        parts.append("description")
    return " ".join(parts)[:500]


def _policy_settings(
    store: Any, actor: Actor, mailbox: Mailbox, request: UpdateMailbox
) -> dict[str, Any]:
    """The settings keys to change (storage/policy.py); a refused lock clearing is
    recorded, then raised as Forbidden."""
    settings: dict[str, Any] = {}
    if request.max_age_days is not KEEP:
        days = policy.check_max_age_days(request.max_age_days)
        if days != policy.max_age_days(mailbox):
            settings |= policy.max_age_update(days)
    lock = request.reset_locked
    if lock is not None:
        if not policy.may_change_reset_lock(actor.role, mailbox, lock):
            record(store, actor, AuditAction.RESET_LOCK_CLEAR_REFUSED, mailbox.id)
            raise Forbidden("only a superadmin can clear the reset lock")
        if lock != policy.reset_locked(mailbox):
            settings |= policy.reset_lock_update(lock)
    return settings


def _record_policy(store: Any, actor: Actor, mailbox_id: str, settings: dict[str, Any]) -> None:
    if policy.MAX_AGE_KEY in settings:
        days = settings[policy.MAX_AGE_KEY]
        record(store, actor, AuditAction.MAX_AGE, mailbox_id, f"days={days or 'none'}")
    if policy.RESET_LOCK_KEY in settings:
        locked = bool(settings[policy.RESET_LOCK_KEY])
        name = AuditAction.RESET_LOCK_SET if locked else AuditAction.RESET_LOCK_CLEAR
        record(store, actor, name, mailbox_id)


@dataclass(frozen=True)
class DeleteMailbox:
    ref: str
    destroy_messages: bool = False  # confirmed: without it, a mailbox holding mail stays
    hand_over_to: str = ""  # a mailbox of the same domain that takes over its addresses


@dataclass(frozen=True)
class MailboxDeleted:
    mailbox: Mailbox
    messages_destroyed: int
    handed_over_to: Mailbox | None = None  # as it is now, with the addresses it received


@action(CONSOLE, API, CLI)
def delete_mailbox(store: Any, actor: Actor, request: DeleteMailbox) -> MailboxDeleted:
    """Only a mailbox on hold or disabled (policy.is_deletable); NotEmpty when it holds
    messages and their destruction was not confirmed. With `hand_over_to`, its addresses
    move to that mailbox (policy.check_hand_over) in the same transaction."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    if not policy.is_deletable(mailbox):
        raise NotDeletable(
            "only a mailbox on hold or disabled can be deleted ({mailbox} is {status})",
            mailbox=mailbox.id,
            status=mailbox.status,
        )
    target = None
    if request.hand_over_to:
        target = scoped_mailbox(store, actor, request.hand_over_to)
        accepted = {d.name for d in store.domains.list()}
        policy.check_hand_over(actor.admin, mailbox, target, accepted)
    # The entry is written first: the store removes the files after its deletes, so
    # only the commit comes after them.
    detail = f"messages={mailbox.messages}" + (f" hand-over={target.id}" if target else "")
    with store.atomic():
        record(store, actor, AuditAction.MAILBOX_DELETE, mailbox.id, detail)
        if target is not None:
            target = _hand_over(store, actor, mailbox, target)
        destroyed = store.mailboxes.delete(mailbox.id, force=request.destroy_messages)
    return MailboxDeleted(mailbox, destroyed, target)


def _hand_over(store: Any, actor: Actor, source: Mailbox, target: Mailbox) -> Mailbox:
    """Move the addresses and record it on the receiving mailbox and in the audit log."""
    moved = store.mailboxes.hand_over_addresses(source.id, target.id)
    target = store.mailboxes.get(target.id)  # read inside the transaction
    update = policy.hand_over_update(target, source, moved, time.time())
    record(store, actor, AuditAction.HAND_OVER, target.id, f"from={source.id} {','.join(moved)}")
    return store.mailboxes.update(target.id, settings_update=update)


@dataclass(frozen=True)
class AcknowledgePassphrase:
    ref: str


@action(CONSOLE)
def acknowledge_passphrase(store: Any, actor: Actor, request: AcknowledgePassphrase) -> Mailbox:
    """The admin has stored the passphrase shown once: stop asking."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    with store.atomic():
        updated = store.mailboxes.update(mailbox.id, settings_update={PASSPHRASE_UNCONFIRMED: None})
        record(store, actor, AuditAction.PASSPHRASE_STORED, mailbox.id)
    return updated
