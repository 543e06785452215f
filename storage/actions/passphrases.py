"""Passphrase actions: change (current known), reset (lost; the "no reset" lock applies),
recover (an old one found again), purge sealed mail, export the age identity.

Passphrases pass through here to the store and back to the face, and nowhere else:
never into the audit log. The Argon2 work happens in the store before its first
write, so before the action's transaction takes the write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import policy
from ..errors import ConfirmationNeeded, Forbidden, WrongPassphrase
from ..models import Mailbox
from ..policy import ResetDecision
from .audit import AuditAction
from .base import API, CLI, CONSOLE, Actor, action, record, require_role, scoped_mailbox
from .mailboxes import PASSPHRASE_UNCONFIRMED


def _await_acknowledgement(store: Any, mailbox_id: str) -> None:
    store.mailboxes.update(mailbox_id, settings_update={PASSPHRASE_UNCONFIRMED: True})


@dataclass(frozen=True)
class ChangePassphrase:
    ref: str
    current: str
    await_acknowledgement: bool = False


@dataclass(frozen=True)
class NewPassphrase:
    mailbox: Mailbox
    passphrase: str  # shown once
    newly_sealed: int = 0  # messages a reset sealed under the old passphrase
    sealed_messages: int = 0  # messages sealed under earlier passphrases, after the act


@action(CONSOLE, API, CLI)
def change_passphrase(store: Any, actor: Actor, request: ChangePassphrase) -> NewPassphrase:
    """WrongPassphrase (recorded as `...-change-failed`) unless `current` opens it."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    try:
        with store.atomic():
            new = store.keys.change_passphrase(mailbox.id, request.current)
            if request.await_acknowledgement:
                _await_acknowledgement(store, mailbox.id)
            record(store, actor, AuditAction.PASSPHRASE_CHANGE, mailbox.id)
    except WrongPassphrase:
        record(store, actor, AuditAction.PASSPHRASE_CHANGE_FAILED, mailbox.id)
        raise
    return NewPassphrase(mailbox, new)


@dataclass(frozen=True)
class ResetPassphrase:
    ref: str
    confirm: str | None = None  # the mailbox id, typed, when its resets are locked
    await_acknowledgement: bool = False


@action(CONSOLE, API, CLI)
def reset_passphrase(store: Any, actor: Actor, request: ResetPassphrase) -> NewPassphrase:
    """A new key epoch under a new passphrase. With the "no reset" lock on, only a
    superadmin (or the CLI) may, typing the mailbox id: Forbidden or ConfirmationNeeded
    otherwise, each recorded as `mailbox.passphrase-reset-refused`."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    decision = policy.reset_decision(mailbox, actor.role, request.confirm)
    if decision is not ResetDecision.ALLOWED:
        record(store, actor, AuditAction.PASSPHRASE_RESET_REFUSED, mailbox.id, decision.value)
        if decision is ResetDecision.LOCKED:
            raise Forbidden(
                "passphrase resets of {mailbox} are locked: only a superadmin can reset it",
                mailbox=mailbox.id,
            )
        raise ConfirmationNeeded(
            "passphrase resets of {mailbox} are locked: confirm with its id to reset it anyway",
            mailbox=mailbox.id,
        )
    newly_sealed = mailbox.messages - store.keys.sealed_message_count(mailbox.id)
    with store.atomic():
        new = store.keys.reset_passphrase(mailbox.id)
        if request.await_acknowledgement:
            _await_acknowledgement(store, mailbox.id)
        record(store, actor, AuditAction.PASSPHRASE_RESET, mailbox.id, f"sealed={newly_sealed}")
    return NewPassphrase(mailbox, new, newly_sealed, store.keys.sealed_message_count(mailbox.id))


@dataclass(frozen=True)
class RecoverPassphrase:
    ref: str
    old: str
    current: str


@dataclass(frozen=True)
class Recovered:
    mailbox: Mailbox
    epochs: int  # key epochs re-sealed under the current passphrase
    readable: int  # messages readable again
    sealed_messages: int  # still sealed under other passphrases


@action(CONSOLE, CLI)
def recover_passphrase(store: Any, actor: Actor, request: RecoverPassphrase) -> Recovered:
    """WrongPassphrase (recorded as `...-recover-failed`) when `current` is wrong or
    `old` opens no sealed epoch."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    before = store.keys.sealed_message_count(mailbox.id)
    try:
        with store.atomic():
            epochs = store.keys.recover(mailbox.id, request.old, request.current)
            record(store, actor, AuditAction.PASSPHRASE_RECOVER, mailbox.id, f"epochs={epochs}")
    except WrongPassphrase:
        record(store, actor, AuditAction.PASSPHRASE_RECOVER_FAILED, mailbox.id)
        raise
    after = store.keys.sealed_message_count(mailbox.id)
    return Recovered(mailbox, epochs, before - after, after)


@dataclass(frozen=True)
class PurgeSealed:
    ref: str


@dataclass(frozen=True)
class Purged:
    mailbox: Mailbox
    epochs: int
    messages: int


@action(CLI)
def purge_sealed(store: Any, actor: Actor, request: PurgeSealed) -> Purged:
    """Irreversibly destroy the sealed key epochs and their mail (superadmin only);
    nothing to purge is no act and no entry."""
    require_role(actor, "superadmin")
    mailbox = scoped_mailbox(store, actor, request.ref)
    epochs = sum(1 for e in store.keys.list_epochs(mailbox.id) if e.state == "sealed")
    if not epochs:
        return Purged(mailbox, 0, 0)
    count = store.keys.sealed_message_count(mailbox.id)
    with store.atomic():
        record(store, actor, AuditAction.PURGE_SEALED, mailbox.id, f"messages={count}")
        purged = store.keys.purge_sealed(mailbox.id)
    return Purged(mailbox, epochs, purged)


@dataclass(frozen=True)
class ExportIdentity:
    ref: str
    passphrase: str


@dataclass(frozen=True)
class IdentityExported:
    mailbox: Mailbox
    text: str  # the age identity file: a secret the face writes where it was asked to


@action(CLI)
def export_identity(store: Any, actor: Actor, request: ExportIdentity) -> IdentityExported:
    """The mailbox's age identities (superadmin only: they read its whole archive)."""
    require_role(actor, "superadmin")
    mailbox = scoped_mailbox(store, actor, request.ref)
    text = store.keys.export_identity(mailbox.id, request.passphrase)
    record(store, actor, AuditAction.EXPORT_IDENTITY, mailbox.id)
    return IdentityExported(mailbox, text)
