"""What every admin action shares: who acts, the role and scope checks, the audit entry,
and the registry of actions (ACTIONS in storage/actions/__init__.py).

An action is a plain function `fn(store, actor, request) -> result`: it validates the
request, authorises the actor (role, then domain scope, by the rules of
storage/policy.py), writes, and records one audit entry, the writes and the entry in
one transaction (`store.atomic()`). A refusal worth recording (a locked reset, say) is
recorded on its own, before the error is raised, so that the rollback keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import policy
from ..errors import Forbidden, OutOfScope
from ..models import Admin, Mailbox
from .audit import AuditAction

OPERATOR_NAME = "cli"  # the audit actor of the `gateway` CLI
ROLE_RANK = {"viewer": 1, "domain-admin": 2, "superadmin": 3}
CONSOLE, API, CLI = "console", "api", "cli"
ALL_FACES = frozenset({CONSOLE, API, CLI})


@dataclass(frozen=True)
class Actor:
    """Who acts: an admin (console session or API token), or the operator (`gateway`
    CLI, admin None), and where from (client address, "api:tok-…", "uid 1000")."""

    admin: Admin | None
    source: str

    @classmethod
    def operator(cls, source: str) -> Actor:
        return cls(policy.OPERATOR, source)

    @property
    def name(self) -> str:
        return self.admin.name if self.admin is not None else OPERATOR_NAME

    @property
    def role(self) -> str:
        return self.admin.role if self.admin is not None else policy.CLI_ROLE

    @property
    def is_operator(self) -> bool:
        return self.admin is None


def require_role(actor: Actor, minimum: str) -> None:
    """Raise Forbidden unless the actor's role is `minimum` or above (and enabled)."""
    if actor.admin is not None and actor.admin.disabled:
        raise Forbidden("this account is disabled")
    if ROLE_RANK.get(actor.role, 0) < ROLE_RANK[minimum]:
        raise Forbidden("this needs the {role} role", role=minimum)


def require_admin(actor: Actor) -> Admin:
    """The acting admin, for acts on one's own account (the CLI operator has none)."""
    if actor.admin is None:
        raise Forbidden("only a signed-in admin can change their own account")
    require_role(actor, "viewer")
    return actor.admin


def scoped_mailbox(store: Any, actor: Actor, ref: str) -> Mailbox:
    """The mailbox `ref` names, which the actor must be allowed to change:
    NotFound when there is none, OutOfScope when its domain is not one of theirs."""
    require_role(actor, "domain-admin")
    mailbox: Mailbox = store.mailboxes.get(ref)
    if not policy.may_write_domain(actor.admin, mailbox.domain):
        raise OutOfScope("{domain} is not one of your domains", domain=mailbox.domain)
    return mailbox


def record(store: Any, actor: Actor, action: AuditAction, target: str, detail: str = "") -> None:
    """The audit entry of an act: names and ids only, never a secret or content."""
    store.audit.record(actor.name, str(action), target, detail, actor.source)


# --- the registry -------------------------------------------------------------------
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ActionSpec:
    name: str
    fn: Callable[..., Any]
    faces: frozenset[str]  # console, api, cli: the faces that offer the act

    @property
    def single_face(self) -> bool:
        return len(self.faces) == 1


REGISTRY: dict[str, ActionSpec] = {}


def action(*faces: str) -> Callable[[F], F]:
    """Register an admin action and the faces that offer it."""
    unknown = set(faces) - ALL_FACES
    if unknown or not faces:
        raise ValueError(f"faces must be among {sorted(ALL_FACES)}")

    def register(fn: F) -> F:
        REGISTRY[fn.__name__] = ActionSpec(fn.__name__, fn, frozenset(faces))
        return fn

    return register
