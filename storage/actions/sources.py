"""Fetch-source actions: add, update, remove a mailbox's source, and run it now.

Who may: domain admins for their domains' mailboxes, superadmins and the operator for
all (the scope of the source's mailbox). Audit entries name the source and its
mailbox, never a credential.

Running or testing a source needs the network, which storage never touches: `RunSource`
and `CheckSource` carry the fetcher (the gateway's gateway/sources/fetch.py, check.py)
as a callable; the action checks who asks, calls it and records the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import sources as rules
from ..sources import Source
from .audit import AuditAction
from .base import API, CLI, CONSOLE, Actor, action, record, scoped_mailbox


@dataclass(frozen=True)
class AddSource:
    mailbox: str  # id or address
    name: str
    protocol: str
    host: str
    username: str
    secret: Mapping[str, str] = field(repr=False)  # password, or the OAuth2 values
    port: int | None = None
    tls: str = "implicit"
    insecure: bool = False
    ca_file: str | None = None
    fingerprint: str | None = None
    auth: str = "password"
    folders: tuple[str, ...] = ()
    keep: bool = False
    interval: int = rules.DEFAULT_INTERVAL
    comment: str = ""
    active: bool = True


@dataclass(frozen=True)
class UpdateSource:
    """Fields left None stay as they are."""

    source: str
    name: str | None = None
    host: str | None = None
    port: int | None = None
    username: str | None = None
    tls: str | None = None
    insecure: bool | None = None
    ca_file: str | None = None
    fingerprint: str | None = None
    auth: str | None = None
    secret: Mapping[str, str] | None = field(default=None, repr=False)
    folders: tuple[str, ...] | None = None
    keep: bool | None = None
    interval: int | None = None
    comment: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class SourceRef:
    source: str


@dataclass(frozen=True)
class RunSource:
    source: str
    fetch: Callable[[Source], Any] = field(repr=False)  # returns an outcome with `detail()`


@dataclass(frozen=True)
class CheckSource:
    source: str
    check: Callable[[Source], Any] = field(repr=False)  # returns an outcome with `detail()`


def scoped_source(store: Any, actor: Actor, source_id: str) -> Source:
    """NotFound, or OutOfScope when the source's mailbox is not in the actor's domains."""
    source: Source = store.sources.get(source_id)
    scoped_mailbox(store, actor, source.mailbox_id)
    return source


@action(CONSOLE, API, CLI)
def add_source(store: Any, actor: Actor, request: AddSource) -> Source:
    mailbox = scoped_mailbox(store, actor, request.mailbox)
    settings = rules.checked_settings(
        protocol=request.protocol,
        host=request.host,
        username=request.username,
        port=request.port,
        tls=request.tls,
        insecure=request.insecure,
        ca_file=request.ca_file,
        fingerprint=request.fingerprint,
        auth=request.auth,
        folders=request.folders,
        keep=request.keep,
        interval=request.interval,
    )
    secret = rules.check_secret(settings.auth, request.secret)
    name, comment = rules.check_name(request.name), rules.check_comment(request.comment)
    with store.atomic():
        source: Source = store.sources.add(
            mailbox.id, name, settings, secret, comment=comment, active=request.active
        )
        record(store, actor, AuditAction.SOURCE_ADD, source.id, _detail(source))
    return source


@action(CONSOLE, API, CLI)
def update_source(store: Any, actor: Actor, request: UpdateSource) -> Source:
    current = scoped_source(store, actor, request.source)
    fields = ("host", "port", "username", "tls", "insecure", "ca_file", "fingerprint", "auth")
    changes: dict[str, Any] = {k: getattr(request, k) for k in fields}
    changes |= {"folders": request.folders, "keep": request.keep, "interval": request.interval}
    settings = rules.changed_settings(current.settings, changes)
    secret = None
    if request.secret is not None or settings.auth != current.settings.auth:
        secret = rules.check_secret(settings.auth, request.secret or {})
    name = None if request.name is None else rules.check_name(request.name)
    comment = None if request.comment is None else rules.check_comment(request.comment)
    with store.atomic():
        updated: Source = store.sources.update(
            current.id,
            name=name,
            settings=settings if settings != current.settings else None,
            secret=secret,
            active=request.active,
            comment=comment,
        )
        changed = _changed(current, updated, secret is not None)
        record(store, actor, AuditAction.SOURCE_UPDATE, current.id, changed)
    return updated


@action(CONSOLE, API, CLI)
def remove_source(store: Any, actor: Actor, request: SourceRef) -> Source:
    source = scoped_source(store, actor, request.source)
    with store.atomic():
        store.sources.remove(source.id)
        record(store, actor, AuditAction.SOURCE_REMOVE, source.id, _detail(source))
    return source


@action(CONSOLE, API, CLI)
def run_source(store: Any, actor: Actor, request: RunSource) -> Any:
    """Fetch now; the outcome is recorded on the source by the fetcher, and audited."""
    source = scoped_source(store, actor, request.source)
    outcome = request.fetch(source)
    record(store, actor, AuditAction.SOURCE_RUN, source.id, outcome.detail())
    return outcome


@action(CONSOLE, API, CLI)
def check_source(store: Any, actor: Actor, request: CheckSource) -> Any:
    """Test the connection and sign-in now; nothing is fetched or recorded on the source."""
    source = scoped_source(store, actor, request.source)
    outcome = request.check(source)
    record(store, actor, AuditAction.SOURCE_CHECK, source.id, outcome.detail())
    return outcome


def _detail(source: Source) -> str:
    s = source.settings
    return f"mailbox={source.mailbox_id} name={source.name} {s.protocol}://{s.host}:{s.port}"


def _changed(before: Source, after: Source, secret_changed: bool) -> str:
    """The names of the fields that changed (values only where they are no secret)."""
    names = [k for k, v in after.settings.document().items() if before.settings.document()[k] != v]
    names += [k for k in ("name", "active", "comment") if getattr(before, k) != getattr(after, k)]
    if secret_changed:
        names.append("credentials")
    return "changed=" + ",".join(names) if names else ""
