"""The store's areas, awaited: each method runs the store's method on the thread pool.

Written out (not __getattr__) so that every call has its real signature and return
type; storage/contract/ says what each promises. Streaming reads are
AsyncStore.iter_message; the maintenance hooks that iterate run in AsyncStore.batch.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from typing import Generic, ParamSpec, TypeVar

from .. import policy
from ..contract import (
    Admins,
    ApiTokens,
    AuditLog,
    Domains,
    Keyring,
    Leases,
    LoginClients,
    Mailboxes,
    Maintenance,
    Messages,
    Relays,
    Robots,
    Sealing,
    Sessions,
)
from ..contract.maintenance import CounterFix, ReconcileReport, RetentionCandidate
from ..delivery import Delivery
from ..events import MailboxEvents
from ..file_modes import LooseMode
from ..keys import SealedSeed
from ..listing import DomainOverview, MailboxPage, MailboxQuery
from ..mailbox_key import MailboxKey
from ..models import (
    Admin,
    AdminSession,
    ApiToken,
    AuditEntry,
    Domain,
    EpochInfo,
    ListedMessage,
    Mailbox,
    MessageInfo,
    RelayTarget,
)
from ..robot_rules import Robot, RobotSettings
from .pool import run_in

A = TypeVar("A")
P = ParamSpec("P")
T = TypeVar("T")


class _Area(Generic[A]):
    def __init__(self, area: A, executor: Executor) -> None:
        self._area = area
        self._executor = executor

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await run_in(self._executor, fn, *args, **kwargs)


class AsyncDomains(_Area[Domains]):
    """Domains (storage/contract/domains.py), awaited."""

    async def add(self, name: str) -> Domain:
        return await self._run(self._area.add, name)

    async def list(self) -> builtins.list[Domain]:
        return await self._run(self._area.list)

    async def get(self, name: str) -> Domain:
        return await self._run(self._area.get, name)

    async def overview(
        self, domains: tuple[str, ...] | None = None, now: float | None = None
    ) -> builtins.list[DomainOverview]:
        return await self._run(self._area.overview, domains, now)

    async def remove(self, name: str) -> None:
        return await self._run(self._area.remove, name)


class AsyncMailboxes(_Area[Mailboxes]):
    """Mailboxes (storage/contract/mailboxes.py), awaited."""

    async def create(
        self,
        domain: str,
        name: str = "",
        description: str = "",
        aliases: Iterable[str] = (),
        quota: int = 0,
        status: str = "active",
        *,
        actor: policy.Actor,
    ) -> tuple[Mailbox, str]:
        return await self._run(
            self._area.create, domain, name, description, aliases, quota, status, actor=actor
        )

    async def get(self, ref: str) -> Mailbox:
        return await self._run(self._area.get, ref)

    async def find(self, ref: str) -> Mailbox | None:
        return await self._run(self._area.find, ref)

    async def list(self, domain: str | None = None) -> builtins.list[Mailbox]:
        return await self._run(self._area.list, domain)

    async def page(self, query: MailboxQuery) -> MailboxPage:
        return await self._run(self._area.page, query)

    async def update(
        self,
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        status: str | None = None,
        quota: int | None = None,
        allowed_networks: Iterable[str] | None = None,
        protocols: Iterable[str] | None = None,
        settings: dict | None = None,
        settings_update: Mapping[str, object] | None = None,
    ) -> Mailbox:
        return await self._run(
            self._area.update,
            ref,
            name=name,
            description=description,
            status=status,
            quota=quota,
            allowed_networks=allowed_networks,
            protocols=protocols,
            settings=settings,
            settings_update=settings_update,
        )

    async def add_alias(self, ref: str, address: str, *, actor: policy.Actor) -> Mailbox:
        return await self._run(self._area.add_alias, ref, address, actor=actor)

    async def remove_alias(self, ref: str, address: str) -> Mailbox:
        return await self._run(self._area.remove_alias, ref, address)

    async def hand_over_addresses(self, source_ref: str, target_ref: str) -> builtins.list[str]:
        return await self._run(self._area.hand_over_addresses, source_ref, target_ref)

    async def delete(self, ref: str, force: bool = False) -> int:
        return await self._run(self._area.delete, ref, force)


class AsyncKeyring(_Area[Keyring]):
    """Keyring (storage/contract/keys.py), awaited."""

    async def list_epochs(self, ref: str) -> builtins.list[EpochInfo]:
        return await self._run(self._area.list_epochs, ref)

    async def current_epoch(self, mailbox_id: str) -> SealedSeed:
        return await self._run(self._area.current_epoch, mailbox_id)

    async def sealed_message_count(self, mailbox_id: str) -> int:
        return await self._run(self._area.sealed_message_count, mailbox_id)

    async def unlock(self, ref: str, passphrase: str) -> MailboxKey:
        return await self._run(self._area.unlock, ref, passphrase)

    async def key_state(self, mailbox_id: str) -> str:
        return await self._run(self._area.key_state, mailbox_id)

    async def burn_unlock_time(self) -> None:
        return await self._run(self._area.burn_unlock_time)

    async def change_passphrase(self, ref: str, current: str) -> str:
        return await self._run(self._area.change_passphrase, ref, current)

    async def reset_passphrase(self, ref: str) -> str:
        return await self._run(self._area.reset_passphrase, ref)

    async def recover(self, ref: str, old: str, current: str) -> int:
        return await self._run(self._area.recover, ref, old, current)

    async def purge_sealed(self, ref: str) -> int:
        return await self._run(self._area.purge_sealed, ref)

    async def export_identity(self, ref: str, passphrase: str) -> str:
        return await self._run(self._area.export_identity, ref, passphrase)

    async def check_passphrase_shape(self, text: str) -> None:
        return await self._run(self._area.check_passphrase_shape, text)


class AsyncMessages(_Area[Messages]):
    """Messages (storage/contract/messages.py), awaited. `events`: the store's change
    notifications, which end a wait_for_change early (storage/events.py)."""

    def __init__(
        self, area: Messages, executor: Executor, events: MailboxEvents | None = None
    ) -> None:
        super().__init__(area, executor)
        self._events = events

    async def check_can_receive(self, mailbox_id: str, size_hint: int = 0) -> None:
        return await self._run(self._area.check_can_receive, mailbox_id, size_hint)

    async def begin_delivery(self, mailbox_id: str) -> Delivery:
        return await self._run(self._area.begin_delivery, mailbox_id)

    async def commit_deliveries(
        self, deliveries: builtins.list[Delivery]
    ) -> builtins.list[MessageInfo]:
        return await self._run(self._area.commit_deliveries, deliveries)

    async def list(self, mailbox_id: str) -> builtins.list[MessageInfo]:
        return await self._run(self._area.list, mailbox_id)

    async def next_uid(self, mailbox_id: str) -> int:
        return await self._run(self._area.next_uid, mailbox_id)

    async def get(self, mailbox_id: str, message_id: str) -> MessageInfo:
        return await self._run(self._area.get, mailbox_id, message_id)

    async def from_uid(self, mailbox_id: str, uid: int, limit: int) -> builtins.list[MessageInfo]:
        return await self._run(self._area.from_uid, mailbox_id, uid, limit)

    async def listing(self, mailbox_id: str) -> builtins.list[ListedMessage]:
        return await self._run(self._area.listing, mailbox_id)

    async def fill_unknown_sizes(self, key: MailboxKey) -> int:
        return await self._run(self._area.fill_unknown_sizes, key)

    async def set_flags(
        self, mailbox_id: str, message_ids: Iterable[str], flags: Iterable[str], mode: str = "add"
    ) -> builtins.list[MessageInfo]:
        return await self._run(self._area.set_flags, mailbox_id, message_ids, flags, mode)

    async def delete(self, mailbox_id: str, message_ids: Iterable[str]) -> int:
        return await self._run(self._area.delete, mailbox_id, message_ids)

    async def received_since(self, mailbox_id: str, since: float) -> int:
        return await self._run(self._area.received_since, mailbox_id, since)

    async def change_seq(self, mailbox_id: str) -> int:
        return await self._run(self._area.change_seq, mailbox_id)

    async def wait_for_change(self, mailbox_id: str, seen: int, *, poll: float) -> int:
        """The mailbox's change_seq once it differs from `seen` (a change committed by
        any process); NotFound once the mailbox is deleted. Reads it every `poll`
        seconds: one indexed row, no lock. The caller bounds the wait (it is cancelled
        with its session). It looks again at once when the store's events announce a
        change of the mailbox: made in this process, or, on PostgreSQL, anywhere
        (LISTEN/NOTIFY, storage/postgres/changes.py); polling stays the fallback."""
        loop = asyncio.get_running_loop()
        nudged = asyncio.Event()

        def listener(_mailbox_id: str, _event: str) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(nudged.set)

        unsubscribe = self._events.subscribe(mailbox_id, listener) if self._events else None
        try:
            while True:
                nudged.clear()
                current = await self.change_seq(mailbox_id)
                if current != seen:
                    return current
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(nudged.wait(), poll)
        finally:
            if unsubscribe is not None:
                unsubscribe()


class AsyncAdmins(_Area[Admins]):
    """Admins (storage/contract/admins.py), awaited."""

    async def create(
        self,
        name: str,
        role: str = "superadmin",
        domains: Iterable[str] = (),
        password: str | None = None,
    ) -> tuple[Admin, str]:
        return await self._run(self._area.create, name, role, domains, password)

    async def get(self, name: str) -> Admin:
        return await self._run(self._area.get, name)

    async def list(self) -> builtins.list[Admin]:
        return await self._run(self._area.list)

    async def count(self) -> int:
        return await self._run(self._area.count)

    async def count_totp(self) -> int:
        return await self._run(self._area.count_totp)

    async def verify_password(self, name: str, password: str) -> Admin | None:
        return await self._run(self._area.verify_password, name, password)

    async def set_password(self, name: str, password: str | None = None) -> str:
        return await self._run(self._area.set_password, name, password)

    async def update(
        self,
        name: str,
        *,
        role: str | None = None,
        domains: Iterable[str] | None = None,
        disabled: bool | None = None,
        language: str | None = None,
    ) -> Admin:
        return await self._run(
            self._area.update,
            name,
            role=role,
            domains=domains,
            disabled=disabled,
            language=language,
        )

    async def set_totp(
        self, name: str, secret: str | None, recovery_hashes: builtins.list[str]
    ) -> None:
        return await self._run(self._area.set_totp, name, secret, recovery_hashes)

    async def totp(self, name: str) -> tuple[str | None, builtins.list[str]]:
        return await self._run(self._area.totp, name)

    async def delete(self, name: str) -> None:
        return await self._run(self._area.delete, name)


class AsyncSessions(_Area[Sessions]):
    """Sessions (storage/contract/sessions.py), awaited."""

    async def create(
        self, admin: str, source: str = "", user_agent: str = "", now: float | None = None
    ) -> tuple[AdminSession, str]:
        return await self._run(self._area.create, admin, source, user_agent, now)

    async def get(self, raw: str) -> AdminSession | None:
        return await self._run(self._area.get, raw)

    async def touch(self, raw: str, now: float | None = None) -> None:
        return await self._run(self._area.touch, raw, now)

    async def set_data(self, raw: str, data: dict) -> None:
        return await self._run(self._area.set_data, raw, data)

    async def delete(self, raw: str) -> None:
        return await self._run(self._area.delete, raw)

    async def list(self, admin: str) -> builtins.list[AdminSession]:
        return await self._run(self._area.list, admin)

    async def delete_for_admin(self, admin: str, keep_raw: str | None = None) -> int:
        return await self._run(self._area.delete_for_admin, admin, keep_raw)

    async def purge(self, idle_before: float, created_before: float) -> int:
        return await self._run(self._area.purge, idle_before, created_before)

    async def signing_key(self, name: str) -> bytes:
        return await self._run(self._area.signing_key, name)


class AsyncApiTokens(_Area[ApiTokens]):
    """ApiTokens (storage/contract/sessions.py), awaited."""

    async def create(self, admin: str, name: str, now: float | None = None) -> tuple[ApiToken, str]:
        return await self._run(self._area.create, admin, name, now)

    async def get(self, token_id: str) -> ApiToken:
        return await self._run(self._area.get, token_id)

    async def list(self, admin: str | None = None) -> builtins.list[ApiToken]:
        return await self._run(self._area.list, admin)

    async def verify(self, raw: str, now: float | None = None) -> ApiToken | None:
        return await self._run(self._area.verify, raw, now)

    async def revoke(self, token_id: str, admin: str | None = None) -> None:
        return await self._run(self._area.revoke, token_id, admin)


class AsyncAuditLog(_Area[AuditLog]):
    """AuditLog (storage/contract/audit.py), awaited."""

    async def record(
        self, actor: str, action: str, target: str = "", detail: str = "", source: str = ""
    ) -> None:
        return await self._run(self._area.record, actor, action, target, detail, source)

    async def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 200,
        before_id: int | None = None,
    ) -> builtins.list[AuditEntry]:
        return await self._run(
            self._area.list,
            actor=actor,
            action=action,
            target=target,
            limit=limit,
            before_id=before_id,
        )


class AsyncLoginClients(_Area[LoginClients]):
    """LoginClients (storage/contract/login_clients.py), awaited."""

    async def record(self, mailbox_id: str, client_address: str = "") -> None:
        return await self._run(self._area.record, mailbox_id, client_address)

    async def known(self, mailbox_id: str) -> builtins.list[str]:
        return await self._run(self._area.known, mailbox_id)

    async def is_known(self, mailbox_id: str, client_address: str) -> bool:
        return await self._run(self._area.is_known, mailbox_id, client_address)


class AsyncLeases(_Area[Leases]):
    """Leases (storage/contract/leases.py), awaited."""

    async def acquire(self, name: str, owner: str, ttl: float) -> bool:
        return await self._run(self._area.acquire, name, owner, ttl)

    async def renew(self, name: str, owner: str, ttl: float) -> bool:
        return await self._run(self._area.renew, name, owner, ttl)

    async def release(self, name: str, owner: str) -> None:
        return await self._run(self._area.release, name, owner)

    async def holder(self, name: str) -> str | None:
        return await self._run(self._area.holder, name)


class AsyncRelays(_Area[Relays]):
    """Relays (storage/contract/relays.py), awaited."""

    async def list(self, mailbox_id: str) -> builtins.list[RelayTarget]:
        return await self._run(self._area.list, mailbox_id)

    async def put(self, mailbox_id: str, address: str, policy: str, actor: str) -> RelayTarget:
        return await self._run(self._area.put, mailbox_id, address, policy, actor)

    async def remove(self, mailbox_id: str, address: str) -> RelayTarget:
        return await self._run(self._area.remove, mailbox_id, address)

    async def chain_mark(self, mailbox_id: str) -> str:
        return await self._run(self._area.chain_mark, mailbox_id)

    async def already_relayed(
        self, mailbox_id: str, message_key: str, targets: Iterable[str]
    ) -> set[str]:
        return await self._run(self._area.already_relayed, mailbox_id, message_key, list(targets))

    async def remember_relayed(
        self, mailbox_id: str, message_key: str, targets: Iterable[str], expires: float
    ) -> None:
        await self._run(
            self._area.remember_relayed, mailbox_id, message_key, list(targets), expires
        )


class AsyncSealing(_Area[Sealing]):
    """Sealing (storage/contract/sealing.py), awaited."""

    async def problem(self) -> str | None:
        return await self._run(self._area.problem)

    async def seal(self, purpose: str, owner: str, plaintext: str) -> str:
        return await self._run(self._area.seal, purpose, owner, plaintext)

    async def unseal(self, purpose: str, owner: str, sealed: str) -> str:
        return await self._run(self._area.unseal, purpose, owner, sealed)

    async def recovery_code_digest(self, admin: str, code_hash: str) -> str:
        return await self._run(self._area.recovery_code_digest, admin, code_hash)

    async def derived_digest(self, purpose: str, owner: str, value: str) -> str:
        return await self._run(self._area.derived_digest, purpose, owner, value)


class AsyncRobots(_Area[Robots]):
    """Robots (storage/contract/robots.py), awaited."""

    async def get(self, mailbox_id: str) -> Robot | None:
        return await self._run(self._area.get, mailbox_id)

    async def set(self, mailbox_id: str, settings: RobotSettings) -> Robot:
        return await self._run(self._area.set, mailbox_id, settings)

    async def clear(self, mailbox_id: str) -> bool:
        return await self._run(self._area.clear, mailbox_id)

    async def claim_reply(self, mailbox_id: str, sender: str, now: float, interval: float) -> bool:
        return await self._run(self._area.claim_reply, mailbox_id, sender, now, interval)

    async def release_reply(self, mailbox_id: str, sender: str, claimed_at: float) -> None:
        return await self._run(self._area.release_reply, mailbox_id, sender, claimed_at)


class AsyncMaintenance(_Area[Maintenance]):
    """Maintenance (storage/contract/maintenance.py), awaited."""

    async def reconcile(self) -> ReconcileReport:
        return await self._run(self._area.reconcile)

    async def adopt_orphan(self, relpath: str) -> bool:
        return await self._run(self._area.adopt_orphan, relpath)

    async def check_writable(self) -> None:
        return await self._run(self._area.check_writable)

    async def free_bytes(self) -> int:
        return await self._run(self._area.free_bytes)

    async def loose_file_modes(self) -> list[LooseMode]:
        return await self._run(self._area.loose_file_modes)

    async def tighten_modes(self, loose: list[LooseMode]) -> list[LooseMode]:
        return await self._run(self._area.tighten_modes, loose)

    async def is_indexed(self, message_id: str) -> bool:
        return await self._run(self._area.is_indexed, message_id)

    async def path_is_indexed(self, relpath: str) -> bool:
        return await self._run(self._area.path_is_indexed, relpath)

    async def is_reserved(self, relpath: str) -> bool:
        return await self._run(self._area.is_reserved, relpath)

    async def claim_orphan(self, relpath: str) -> bool:
        return await self._run(self._area.claim_orphan, relpath)

    async def stored_file_mtime(self, relpath: str) -> float:
        return await self._run(self._area.stored_file_mtime, relpath)

    async def quarantine(self, relpath: str) -> str:
        return await self._run(self._area.quarantine, relpath)

    async def stale_temp_files(self, older_than: float) -> list[str]:
        return await self._run(self._area.stale_temp_files, older_than)

    async def remove_stale_temp(self, relpath: str) -> None:
        return await self._run(self._area.remove_stale_temp, relpath)

    async def counter_drift(self) -> list[CounterFix]:
        return await self._run(self._area.counter_drift)

    async def repair_counters(self) -> list[CounterFix]:
        return await self._run(self._area.repair_counters)

    async def seen_times(self, mailbox_id: str) -> dict[str, float]:
        return await self._run(self._area.seen_times, mailbox_id)

    async def retention_candidates(self, mailbox_id: str) -> list[RetentionCandidate]:
        return await self._run(self._area.retention_candidates, mailbox_id)

    async def record_seen_times(self, message_ids: list[str], when: float) -> None:
        return await self._run(self._area.record_seen_times, message_ids, when)
