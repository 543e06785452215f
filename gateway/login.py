"""Retrieval login for POP3 and IMAP: one code path for credentials, policy and throttling.

Order of checks, all answered with the same failure reply: throttle state, mailbox
lookup, protocol enabled, status allows login, client network allowed, passphrase
(Argon2id under a concurrency limit). Failures are counted per client IP and per
mailbox; each failure adds a growing delay, and too many in the window refuse logins
for a while, even with the right passphrase, from that IP or for that mailbox. A client
address that logged in to a mailbox before is throttled by its own failures only, not by
the mailbox's: an attacker must not be able to lock the mailbox's archiver out.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from storage import Mailbox, MailboxKey, StoreError, WrongPassphrase
from storage.async_store import AsyncStore

log = logging.getLogger("gateway.login")

# Every failure, whatever its cause, gets this text (protocol prefixes added by callers).
FAILURE_TEXT = "authentication failed"
REFUSED = "too many failures: temporarily refused"
KNOWN_CLIENTS = 8  # client addresses remembered per mailbox after a successful login


@dataclass(frozen=True)
class LoginPolicy:
    max_concurrent_unlocks: int = 4
    failures_before_delay: int = 3
    max_delay: float = 30.0
    lockout_failures: int = 20
    window: float = 900.0

    @classmethod
    def from_settings(cls, settings) -> LoginPolicy:
        s = settings.login
        return cls(
            s.max_concurrent_unlocks,
            s.failures_before_delay,
            s.max_delay,
            s.lockout_failures,
            s.window,
        )


@dataclass
class LoginResult:
    mailbox: Mailbox
    key: MailboxKey


class LoginFailed(Exception):
    """The login did not succeed; str() is the uniform text, `reason` is for logs only."""

    def __init__(self, reason: str) -> None:
        super().__init__(FAILURE_TEXT)
        self.reason = reason


class FailureCounter:
    def __init__(self, window: float) -> None:
        self.window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)

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
        self._events[key].append(now)

    def clear(self, key: str) -> None:
        self._events.pop(key, None)


class Authenticator:
    """Shared by every POP3 and IMAP listener of one process."""

    def __init__(self, store: AsyncStore, policy: LoginPolicy | None = None) -> None:
        self.store = store
        self.policy = policy or LoginPolicy()
        self._unlocks = asyncio.Semaphore(self.policy.max_concurrent_unlocks)
        self._failures = FailureCounter(self.policy.window)
        self.unlocks_in_flight = 0
        self.throttled_total = 0
        self.results: Counter[tuple[str, str]] = Counter()  # (protocol, ok|failed)
        self._known: dict[str, deque[str]] = {}  # mailbox id -> addresses that logged in

    def _delay_for(self, failures: int) -> float:
        over = failures - self.policy.failures_before_delay
        if over < 0:
            return 0.0
        return min(self.policy.max_delay, 0.5 * (2**over))

    async def login(
        self, username: str, passphrase: str, client_ip: str, protocol: str
    ) -> LoginResult:
        """Unlock a mailbox or raise LoginFailed (after any throttling delay)."""
        now = time.monotonic()
        ip_key = f"ip:{client_ip}"
        mailbox = await self._find(username)
        mbx_key = f"mbx:{mailbox.id}" if mailbox else f"name:{username.lower()}"

        known = mailbox is not None and client_ip in self._known.get(mailbox.id, ())

        def count(at: float) -> int:
            own = self._failures.count(ip_key, at)
            return own if known else max(own, self._failures.count(mbx_key, at))

        def locked() -> bool:
            return count(time.monotonic()) >= self.policy.lockout_failures

        failures = count(now)
        if failures >= self.policy.lockout_failures:
            self.throttled_total += 1
            await asyncio.sleep(self._delay_for(failures))
            refused = LoginFailed(REFUSED)
            await self._audit(
                mailbox, username, client_ip, protocol, ok=False, reason=refused.reason
            )
            raise refused
        try:
            result = await self._attempt(mailbox, passphrase, client_ip, protocol, locked)
        except LoginFailed as exc:
            self._failures.add(ip_key, now)
            self._failures.add(mbx_key, now)
            delay = self._delay_for(failures + 1)
            if delay:
                self.throttled_total += 1
                await asyncio.sleep(delay)
            await self._audit(mailbox, username, client_ip, protocol, ok=False, reason=exc.reason)
            raise
        self._failures.clear(mbx_key)
        clients = self._known.setdefault(result.mailbox.id, deque(maxlen=KNOWN_CLIENTS))
        if client_ip not in clients:
            clients.append(client_ip)
        await self.store.record_login(result.mailbox.id)
        await self._audit(result.mailbox, username, client_ip, protocol, ok=True, reason="")
        return result

    async def _find(self, username: str) -> Mailbox | None:
        try:
            return await self.store.find_mailbox(username)
        except StoreError:
            return None

    async def _attempt(
        self,
        mailbox: Mailbox | None,
        passphrase: str,
        client_ip: str,
        protocol: str,
        locked: Callable[[], bool],
    ) -> LoginResult:
        if mailbox is None:
            await self._burn_time(locked)
            raise LoginFailed("unknown mailbox")
        if protocol not in mailbox.protocols:
            await self._burn_time(locked)
            raise LoginFailed(f"{protocol} disabled for this mailbox")
        if not mailbox.allows_login():
            await self._burn_time(locked)
            raise LoginFailed(f"mailbox status {mailbox.status}")
        if mailbox.allowed_networks and not _ip_allowed(client_ip, mailbox.allowed_networks):
            await self._burn_time(locked)
            raise LoginFailed("client network not allowed")
        async with self._unlocks:
            _check_not_locked(locked)
            self.unlocks_in_flight += 1
            try:
                key = await self.store.unlock(mailbox.id, passphrase)
            except WrongPassphrase:
                raise LoginFailed("wrong passphrase") from None
            finally:
                self.unlocks_in_flight -= 1
        await self.store.fill_unknown_sizes(key)
        return LoginResult(mailbox, key)

    async def _burn_time(self, locked: Callable[[], bool]) -> None:
        """Spend what an unlock would, so a refusal's timing says nothing about its cause."""
        async with self._unlocks:
            _check_not_locked(locked)
            self.unlocks_in_flight += 1
            try:
                await self.store.run(_dummy_unlock, self.store.sync.kdf)
            finally:
                self.unlocks_in_flight -= 1

    async def _audit(
        self, mailbox: Mailbox | None, username: str, ip: str, protocol: str, ok: bool, reason: str
    ) -> None:
        target = mailbox.id if mailbox else ""
        action = f"{protocol}.login" if ok else f"{protocol}.login-failed"
        self.results[(protocol, "ok" if ok else "failed")] += 1
        log.info(
            "%s %s from %s%s",
            action,
            target or "(unknown mailbox)",
            ip,
            f": {reason}" if reason else "",
        )
        try:
            await self.store.audit("retrieval", action, target, reason, ip)
        except StoreError:
            log.warning("audit write failed for %s", action)


def _check_not_locked(locked: Callable[[], bool]) -> None:
    """Checked again once an unlock slot is free: attempts sent in parallel all passed the
    first check before any of them failed, and must not each get an Argon2 run."""
    if locked():
        raise LoginFailed(REFUSED)


def _dummy_unlock(kdf) -> None:
    kdf.derive(b"0" * 30, b"\x00" * 16)


def _ip_allowed(ip: str, networks: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)
