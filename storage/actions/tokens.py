"""API token actions (create, revoke) and revealing the /metrics bearer token.

An admin manages their own API tokens; a superadmin (and the CLI) anyone's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import NotFound
from ..models import ApiToken
from .audit import AuditAction
from .base import CLI, CONSOLE, Actor, action, record, require_admin, require_role


def _owner(actor: Actor, owner: str | None) -> str:
    """The admin whose tokens are meant: `owner`, or the actor's own when None."""
    if owner is None or (actor.admin is not None and owner == actor.admin.name):
        return require_admin(actor).name
    require_role(actor, "superadmin")
    return owner


@dataclass(frozen=True)
class CreateToken:
    name: str
    owner: str | None = None  # the admin it acts as; None: the acting admin


@dataclass(frozen=True)
class TokenCreated:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


@action(CONSOLE, CLI)
def create_token(store: Any, actor: Actor, request: CreateToken) -> TokenCreated:
    owner = _owner(actor, request.owner)
    with store.atomic():
        token, secret = store.tokens.create(owner, request.name)
        record(store, actor, AuditAction.TOKEN_CREATE, token.id, f"admin={owner} name={token.name}")
    return TokenCreated(token, secret)


@dataclass(frozen=True)
class RevokeToken:
    token_id: str
    owner: str | None = None  # the admin it must belong to; None: the acting admin


@action(CONSOLE, CLI)
def revoke_token(store: Any, actor: Actor, request: RevokeToken) -> ApiToken:
    """NotFound unless the token exists and belongs to `owner` (another admin's token
    is not found, so its existence is not revealed)."""
    owner = request.owner if actor.is_operator else _owner(actor, request.owner)
    try:
        token: ApiToken = store.tokens.get(request.token_id)
    except NotFound:
        raise NotFound("no API token {token}", token=request.token_id) from None
    if owner is not None and token.admin != owner:
        raise NotFound("no API token {token}", token=request.token_id)
    with store.atomic():
        store.tokens.revoke(token.id, admin=token.admin)
        record(store, actor, AuditAction.TOKEN_REVOKE, token.id, f"admin={token.admin}")
    return token


@dataclass(frozen=True)
class RevealMetricsToken:
    source: str  # where the token comes from (setting, file): recorded, never the token


@action(CONSOLE, CLI)
def reveal_metrics_token(store: Any, actor: Actor, request: RevealMetricsToken) -> None:
    """Allow and record showing the /metrics token (superadmin); the face shows it."""
    require_role(actor, "superadmin")
    record(store, actor, AuditAction.METRICS_TOKEN_REVEAL, "metrics", f"source={request.source}")
