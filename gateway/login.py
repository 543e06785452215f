"""Retrieval login for POP3 and IMAP: one code path for credentials, policy and throttling.

Order of checks, all answered with the same failure reply: mailbox lookup, protocol
enabled, status allows login, client network allowed, passphrase. Every attempt, the
refused ones included, runs one Argon2id unlock (a stand-in for refusals) under an
unlock slot from the fair scheduler (gateway/login_scheduler.py), so every failure
costs the same time and Argon2 memory and CPU stay bounded. The one exception: a repeat
login with the right passphrase of an unchanged mailbox is answered from the unlock
cache (gateway/unlock_cache.py) without a slot or Argon2id; every check before the
passphrase still runs.

There is no lockout. A passphrase carries 150 bits, so online guessing cannot succeed
at any rate, and a state that refused the *correct* passphrase would protect nothing
and hand attackers a denial of service. What is kept: each failure delays the answer
to that client address (growing, capped at login.max_delay); addresses that logged in
to the mailbox before (remembered in the store, so by every process and across
restarts) are served first; one address or network cannot monopolise the slots.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import TypeVar

from storage import Mailbox, MailboxKey, StoreError, WrongPassphrase
from storage.actions.audit import login_action
from storage.async_store import AsyncStore

from .adopted_sizes import AdoptedSizes
from .login_scheduler import Client, QueueFull, UnlockScheduler, client_of
from .unlock_cache import UnlockCache

log = logging.getLogger("gateway.login")
T = TypeVar("T")

# Every failure, whatever its cause, gets this text (protocol prefixes added by callers).
FAILURE_TEXT = "authentication failed"
NOT_RUN = "too many logins waiting"  # audit reason: refused before any unlock ran


@dataclass(frozen=True)
class LoginPolicy:
    max_concurrent_unlocks: int = 4
    failures_before_delay: int = 3
    max_delay: float = 30.0
    window: float = 900.0
    max_waiting: int = 256
    max_waiting_per_address: int = 8
    unlock_cache_size: int = 10_000
    unlock_cache_ttl: float = 900.0

    @classmethod
    def from_settings(cls, settings) -> LoginPolicy:
        """Every field from its `login.*` option (login.lockout_failures is deprecated)."""
        s = settings.login
        return cls(**{f.name: getattr(s, f.name) for f in fields(cls)})


@dataclass
class LoginResult:
    mailbox: Mailbox
    key: MailboxKey


class LoginFailed(Exception):
    """The login did not succeed; str() is the uniform text, `reason` is for logs only.

    `counted`: a failure of the client's (it tried and was wrong or refused), which adds
    to its delay; False when it was only refused room to wait. `throttled`: the answer
    was delayed, or refused room to wait (counted as journal_gateway_login_throttled).
    """

    def __init__(self, reason: str, counted: bool = True) -> None:
        super().__init__(FAILURE_TEXT)
        self.reason = reason
        self.counted = counted
        self.throttled = False


class FailureCounter:
    """Failures per key within a sliding window, in bounded memory.

    At most `per_key` events are kept per key (the delay is capped long before) and at
    most `max_keys` keys, the least recently failing dropped first, so a flood from
    ever new addresses cannot grow it without end.
    """

    def __init__(self, window: float, per_key: int = 32, max_keys: int = 20_000) -> None:
        self.window = window
        self.per_key = per_key
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def count(self, key: str, now: float) -> int:
        events = self._events.get(key)
        if not events:
            return 0
        while events and events[0] < now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
            return 0
        return len(events)

    def add(self, key: str, now: float) -> None:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque(maxlen=self.per_key)
        events.append(now)
        self._events.move_to_end(key)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        self._drop_expired(now)

    def _drop_expired(self, now: float) -> None:
        """Forget keys whose newest failure left the window (oldest first, amortised)."""
        while self._events:
            key, events = next(iter(self._events.items()))
            if events and events[-1] >= now - self.window:
                return
            del self._events[key]

    def __len__(self) -> int:
        return len(self._events)


class Authenticator:
    """Shared by every POP3 and IMAP listener of one process."""

    def __init__(
        self,
        store: AsyncStore,
        policy: LoginPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.policy = policy or LoginPolicy()
        self.unlock_cache = UnlockCache(
            self.policy.unlock_cache_size, self.policy.unlock_cache_ttl, clock
        )
        self._failures = FailureCounter(self.policy.window)
        self.scheduler = UnlockScheduler(
            self.policy.max_concurrent_unlocks,
            self.policy.max_waiting,
            self.policy.max_waiting_per_address,
            self._failures_of,
        )
        self.adopted_sizes = AdoptedSizes(store)

    @property
    def unlocks_in_flight(self) -> int:
        return self.scheduler.running

    def _failures_of(self, client: Client) -> tuple[int, int]:
        now = time.monotonic()
        network = self._failures.count(f"net:{client.network}", now)
        return network, self._failures.count(f"ip:{client.address}", now)

    def _delay_for(self, failures: int) -> float:
        over = failures - self.policy.failures_before_delay
        if over < 0:
            return 0.0
        return min(self.policy.max_delay, 0.5 * (2**over))

    async def login(
        self, username: str, passphrase: str, client_ip: str, protocol: str
    ) -> LoginResult:
        """Unlock a mailbox or raise LoginFailed (after the client address's delay)."""
        client = client_of(client_ip)
        mailbox = await self._find(username)
        known = await self._is_known(mailbox, client)
        try:
            result = await self._attempt(mailbox, passphrase, client, known, protocol)
        except LoginFailed as exc:
            await self._failed(exc, client)
            await self._audit(mailbox, username, client, protocol, ok=False, reason=exc.reason)
            raise
        try:
            await self.store.login_clients.record(result.mailbox.id, client.address)
        except StoreError:
            log.warning("could not record the login to %s", result.mailbox.id)
        await self._audit(result.mailbox, username, client, protocol, ok=True, reason="")
        return result

    async def _failed(self, exc: LoginFailed, client: Client) -> None:
        """Count the failure against the client, then hold the answer for its delay."""
        now = time.monotonic()
        failures = self._failures.count(f"ip:{client.address}", now)
        if exc.counted:
            failures += 1
            self._failures.add(f"ip:{client.address}", now)
            self._failures.add(f"net:{client.network}", now)
        delay = self._delay_for(failures)
        exc.throttled = bool(delay) or not exc.counted
        if delay:
            await asyncio.sleep(delay)

    async def _find(self, username: str) -> Mailbox | None:
        try:
            return await self.store.mailboxes.find(username)
        except StoreError:
            return None

    async def _is_known(self, mailbox: Mailbox | None, client: Client) -> bool:
        """Asked of the store for unknown names too, so the lookup costs the same."""
        mailbox_id = mailbox.id if mailbox else ""
        try:
            return bool(await self.store.login_clients.is_known(mailbox_id, client.address))
        except StoreError:
            return False

    async def _attempt(
        self,
        mailbox: Mailbox | None,
        passphrase: str,
        client: Client,
        known: bool,
        protocol: str,
    ) -> LoginResult:
        refusal = _refusal(mailbox, protocol, client)
        if mailbox is None or refusal:
            if mailbox is not None:
                self.unlock_cache.drop(mailbox.id)
            await self._slot(client, known, self.store.keys.burn_unlock_time)
            raise LoginFailed(refusal)
        key_state = await self._key_state(mailbox)
        key = self.unlock_cache.get(mailbox.id, passphrase, key_state) if key_state else None
        if key is None:  # a miss runs Argon2id as before; a hit skips the slot and Argon2id
            key = await self._slot(client, known, lambda: self._unlock(mailbox, passphrase))
            if key_state:  # read before the unlock: a change meanwhile makes it stale
                self.unlock_cache.put(key, passphrase, key_state)
        await self.adopted_sizes.settle(key)  # waits a bounded time, not for every file
        return LoginResult(mailbox, key)

    async def _slot(self, client: Client, known: bool, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` (one Argon2id run) under an unlock slot from the fair scheduler."""
        try:
            async with self.scheduler.slot(client, known):
                return await work()
        except QueueFull:
            raise LoginFailed(NOT_RUN, counted=False) from None

    async def _unlock(self, mailbox: Mailbox, passphrase: str) -> MailboxKey:
        try:
            return await self.store.keys.unlock(mailbox.id, passphrase)
        except WrongPassphrase:
            raise LoginFailed("wrong passphrase") from None

    async def _key_state(self, mailbox: Mailbox) -> str:
        """The mailbox's key state for the unlock cache; "" when the cache cannot serve."""
        if not self.unlock_cache.enabled:
            return ""
        try:
            return await self.store.keys.key_state(mailbox.id)
        except StoreError:
            return ""

    async def _audit(
        self,
        mailbox: Mailbox | None,
        username: str,
        client: Client,
        protocol: str,
        ok: bool,
        reason: str,
    ) -> None:
        target = mailbox.id if mailbox else ""
        action = str(login_action(protocol, ok))
        log.info(
            "%s %s from %s%s",
            action,
            target or "(unknown mailbox)",
            client.address,
            f": {reason}" if reason else "",
        )
        try:
            await self.store.audit.record("retrieval", action, target, reason, client.address)
        except StoreError:
            log.warning("audit write failed for %s", action)


def _refusal(mailbox: Mailbox | None, protocol: str, client: Client) -> str:
    """Why the attempt fails whatever its passphrase, or "" (then the unlock decides)."""
    if mailbox is None:
        return "unknown mailbox"
    if protocol not in mailbox.protocols:
        return f"{protocol} disabled for this mailbox"
    if not mailbox.allows_login():
        return f"mailbox status {mailbox.status}"
    if mailbox.allowed_networks and not _ip_allowed(client.address, mailbox.allowed_networks):
        return "client network not allowed"
    return ""


def _ip_allowed(ip: str, networks: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)
