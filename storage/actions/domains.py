"""Domain actions (superadmin only): accept mail for a domain, stop accepting it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import Domain
from .audit import AuditAction
from .base import API, CLI, CONSOLE, Actor, action, record, require_role


@dataclass(frozen=True)
class DomainName:
    name: str


@action(CONSOLE, API, CLI)
def add_domain(store: Any, actor: Actor, request: DomainName) -> Domain:
    """InvalidInput for a name that is not a domain, AlreadyExists when it is accepted."""
    require_role(actor, "superadmin")
    with store.atomic():
        domain: Domain = store.domains.add(request.name)
        record(store, actor, AuditAction.DOMAIN_ADD, domain.name)
    return domain


@action(CONSOLE, API, CLI)
def remove_domain(store: Any, actor: Actor, request: DomainName) -> Domain:
    """NotFound unless accepted; DomainInUse while any address (also an alias of a
    mailbox elsewhere) is in it."""
    require_role(actor, "superadmin")
    domain: Domain = store.domains.get(request.name)
    with store.atomic():
        store.domains.remove(domain.name)
        record(store, actor, AuditAction.DOMAIN_REMOVE, domain.name)
    return domain
