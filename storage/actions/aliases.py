"""Alias actions: add an address to a mailbox, remove one (never the primary)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import Mailbox
from .audit import AuditAction
from .base import API, CLI, CONSOLE, Actor, action, record, scoped_mailbox


@dataclass(frozen=True)
class AliasChange:
    ref: str  # the mailbox
    address: str


@dataclass(frozen=True)
class AliasChanged:
    mailbox: Mailbox  # as it is now
    address: str  # normalized, as recorded


@action(CONSOLE, API, CLI)
def add_alias(store: Any, actor: Actor, request: AliasChange) -> AliasChanged:
    """The address must be free and in an accepted domain of the actor's (the store
    checks both, storage/policy.py's `check_address`)."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    with store.atomic():
        updated = store.mailboxes.add_alias(mailbox.id, request.address, actor=actor.admin)
        (added,) = set(updated.aliases) - set(mailbox.aliases)
        record(store, actor, AuditAction.ALIAS_ADD, mailbox.id, added)
    return AliasChanged(updated, added)


@action(CONSOLE, API, CLI)
def remove_alias(store: Any, actor: Actor, request: AliasChange) -> AliasChanged:
    """NotFound unless the address is an alias of the mailbox."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    with store.atomic():
        updated = store.mailboxes.remove_alias(mailbox.id, request.address)
        (removed,) = set(mailbox.aliases) - set(updated.aliases)
        record(store, actor, AuditAction.ALIAS_REMOVE, mailbox.id, removed)
    return AliasChanged(updated, removed)
