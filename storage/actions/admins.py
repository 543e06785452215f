"""Admin account actions: create, update (role, domains, disabled), delete, password
reset (superadmin) and change (one's own), TOTP on and off, language.

Passwords and TOTP secrets pass through to the store and back to the face only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import policy
from ..errors import Forbidden, InvalidInput, WrongPassword
from ..models import Admin
from .audit import AuditAction
from .base import CLI, CONSOLE, Actor, action, record, require_admin, require_role


def _known_domains(store: Any, domains: Iterable[str]) -> tuple[str, ...]:
    """Canonical names of accepted domains, each once; NotFound for any other."""
    return tuple(sorted({store.domains.get(d).name for d in domains}))


def _check_domains(role: str, domains: tuple[str, ...]) -> None:
    if role == "domain-admin" and not domains:
        raise InvalidInput("a domain-admin needs at least one domain")


@dataclass(frozen=True)
class CreateAdmin:
    name: str
    role: str = "superadmin"
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdminPassword:
    admin: Admin
    password: str  # shown once


@action(CONSOLE, CLI)
def create_admin(store: Any, actor: Actor, request: CreateAdmin) -> AdminPassword:
    require_role(actor, "superadmin")
    domains = _known_domains(store, request.domains)
    _check_domains(request.role, domains)
    with store.atomic():
        admin, password = store.admins.create(request.name, request.role, domains)
        record(store, actor, AuditAction.ADMIN_CREATE, admin.name, f"role={admin.role}")
    return AdminPassword(admin, password)


@dataclass(frozen=True)
class UpdateAdmin:
    name: str
    role: str
    domains: tuple[str, ...]
    disabled: bool


@action(CONSOLE)
def update_admin(store: Any, actor: Actor, request: UpdateAdmin) -> Admin:
    """Disabling ends the admin's sessions. No one demotes or disables themselves (the
    last superadmin could lock everyone out)."""
    require_role(actor, "superadmin")
    target: Admin = store.admins.get(request.name)
    if target.name == actor.name and (request.disabled or request.role != "superadmin"):
        raise InvalidInput("you cannot demote or disable yourself; ask another superadmin")
    domains = _known_domains(store, request.domains)
    with store.atomic():
        updated: Admin = store.admins.update(
            target.name, role=request.role, domains=domains, disabled=request.disabled
        )
        if updated.disabled:
            store.sessions.delete_for_admin(target.name)
        detail = (
            f"role={updated.role} domains={','.join(updated.domains)} disabled={updated.disabled}"
        )
        record(store, actor, AuditAction.ADMIN_UPDATE, target.name, detail)
    return updated


@dataclass(frozen=True)
class AdminName:
    name: str


@action(CLI)
def delete_admin(store: Any, actor: Actor, request: AdminName) -> None:
    """Its sessions and API tokens go with it. No one deletes themselves."""
    require_role(actor, "superadmin")
    target: Admin = store.admins.get(request.name)
    if target.name == actor.name:
        raise InvalidInput("you cannot delete your own account; ask another superadmin")
    with store.atomic():
        store.admins.delete(target.name)
        record(store, actor, AuditAction.ADMIN_DELETE, target.name, f"role={target.role}")


@dataclass(frozen=True)
class ResetAdminPassword:
    name: str
    keep_session: str | None = None  # the acting admin's own session secret, kept


@action(CONSOLE, CLI)
def reset_admin_password(store: Any, actor: Actor, request: ResetAdminPassword) -> AdminPassword:
    """A new random password; every session of the admin ends (but the actor's own)."""
    require_role(actor, "superadmin")
    target: Admin = store.admins.get(request.name)
    with store.atomic():
        password = store.admins.set_password(target.name, None)
        store.sessions.delete_for_admin(target.name, keep_raw=request.keep_session)
        record(store, actor, AuditAction.ADMIN_PASSWORD_RESET, target.name)
    return AdminPassword(target, password)


@dataclass(frozen=True)
class ChangeOwnPassword:
    current: str
    new: str | None  # None: generate one
    keep_session: str | None = None


@action(CONSOLE)
def change_own_password(store: Any, actor: Actor, request: ChangeOwnPassword) -> AdminPassword:
    """WrongPassword unless `current` is right; InvalidInput for a chosen password of
    the wrong length. The admin's other sessions end."""
    admin = require_admin(actor)
    if store.admins.verify_password(admin.name, request.current[: policy.MAX_PASSWORD]) is None:
        raise WrongPassword("that is not your current password")
    if request.new is not None and not policy.password_length_ok(request.new):
        raise InvalidInput(
            "a password is {low} to {high} characters",
            low=policy.MIN_PASSWORD,
            high=policy.MAX_PASSWORD,
        )
    with store.atomic():
        password = store.admins.set_password(admin.name, request.new)
        store.sessions.delete_for_admin(admin.name, keep_raw=request.keep_session)
        record(store, actor, AuditAction.ADMIN_PASSWORD_CHANGE, admin.name)
    return AdminPassword(admin, password)


@dataclass(frozen=True)
class EnableTotp:
    secret: str  # verified by the face against a code from the admin's authenticator
    recovery_hashes: tuple[str, ...]


@action(CONSOLE)
def enable_totp(store: Any, actor: Actor, request: EnableTotp) -> None:
    admin = require_admin(actor)
    with store.atomic():
        store.admins.set_totp(admin.name, request.secret, list(request.recovery_hashes))
        record(store, actor, AuditAction.TOTP_ENABLE, admin.name)


@dataclass(frozen=True)
class DisableOwnTotp:
    password: str
    required_for: tuple[str, ...] = ()  # web.require_totp: roles that must keep it


@action(CONSOLE)
def disable_own_totp(store: Any, actor: Actor, request: DisableOwnTotp) -> None:
    """Forbidden when the admin's role must use TOTP; WrongPassword for a wrong password."""
    admin = require_admin(actor)
    if policy.totp_required(admin.role, request.required_for):
        raise Forbidden("your account must use two-factor sign-in: it cannot be turned off")
    if store.admins.verify_password(admin.name, request.password[: policy.MAX_PASSWORD]) is None:
        raise WrongPassword("that is not your current password")
    with store.atomic():
        store.admins.set_totp(admin.name, None, [])
        record(store, actor, AuditAction.TOTP_DISABLE, admin.name)


@action(CONSOLE, CLI)
def reset_totp(store: Any, actor: Actor, request: AdminName) -> Admin:
    """Turn another admin's two-factor sign-in off (a lost phone): superadmin only."""
    require_role(actor, "superadmin")
    target: Admin = store.admins.get(request.name)
    with store.atomic():
        store.admins.set_totp(target.name, None, [])
        record(store, actor, AuditAction.TOTP_RESET, target.name)
    return target


@dataclass(frozen=True)
class SetLanguage:
    language: str
    available: tuple[str, ...]  # the languages the console has


@action(CONSOLE)
def set_language(store: Any, actor: Actor, request: SetLanguage) -> Admin:
    admin = require_admin(actor)
    if request.language not in request.available:
        raise InvalidInput(
            "language must be one of {choices}", choices=", ".join(request.available)
        )
    with store.atomic():
        updated: Admin = store.admins.update(admin.name, language=request.language)
        record(store, actor, AuditAction.ADMIN_LANGUAGE, admin.name, request.language)
    return updated
