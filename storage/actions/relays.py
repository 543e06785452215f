"""Relay-target actions: add or change a target (the mailbox passphrase required),
remove one (admin rights only). README: Relay copies and robots.

The passphrase is proved with a real unlock (Argon2id, as at login) before anything is
written: an admin who can manage a mailbox but does not know its passphrase must not
be able to send its journal stream to an address of their choosing. A wrong one is
recorded as `mailbox.relay-add-refused` and changes nothing. The passphrase goes no
further than the unlock: never into the audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import relay
from ..errors import InvalidInput, WrongPassphrase
from ..models import Mailbox, RelayTarget
from .audit import AuditAction
from .base import API, CLI, CONSOLE, Actor, action, record, scoped_mailbox


@dataclass(frozen=True)
class AddRelayTarget:
    ref: str  # the mailbox
    address: str
    passphrase: str = ""
    policy: str = relay.REQUIRED

    def __repr__(self) -> str:  # never the passphrase
        return f"AddRelayTarget({self.ref!r}, {self.address!r}, policy={self.policy!r})"


@dataclass(frozen=True)
class RemoveRelayTarget:
    ref: str
    address: str


@dataclass(frozen=True)
class RelayChanged:
    mailbox: Mailbox
    target: RelayTarget
    created: bool = False  # a new target (else an existing one changed, or removed)


@action(CONSOLE, API, CLI)
def add_relay_target(store: Any, actor: Actor, request: AddRelayTarget) -> RelayChanged:
    """Add a target or change its policy. WrongPassphrase (recorded) unless the
    passphrase unlocks the mailbox; InvalidInput for a bad address or policy, one of
    our own addresses, or a 21st target."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    policy = relay.check_policy(request.policy)
    if not request.address.strip():
        raise InvalidInput("a relay target needs an address")
    try:
        store.keys.unlock(mailbox.id, request.passphrase)
    except WrongPassphrase:
        record(store, actor, AuditAction.RELAY_ADD_REFUSED, mailbox.id, "wrong passphrase")
        raise
    accepted = {domain.name for domain in store.domains.list()}
    known = {target.address for target in store.relays.list(mailbox.id)}
    with store.atomic():
        target = store.relays.put(mailbox.id, request.address, policy, actor.name)
        relay.check_not_own(target.address, accepted)
        created = target.address not in known
        name = AuditAction.RELAY_ADD if created else AuditAction.RELAY_CHANGE
        record(store, actor, name, mailbox.id, f"{target.address} policy={policy}")
    return RelayChanged(mailbox, target, created)


@action(CONSOLE, API, CLI)
def remove_relay_target(store: Any, actor: Actor, request: RemoveRelayTarget) -> RelayChanged:
    """NotFound unless the address is one of the mailbox's targets (no passphrase:
    removing a target sends nothing anywhere)."""
    mailbox = scoped_mailbox(store, actor, request.ref)
    with store.atomic():
        target = store.relays.remove(mailbox.id, request.address)
        record(store, actor, AuditAction.RELAY_REMOVE, mailbox.id, target.address)
    return RelayChanged(mailbox, target)
