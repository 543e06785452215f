"""1,000 wrong passphrases against POP3 and IMAP, from many addresses and from one.

The mailboxes use the real Argon2id parameters (64 MiB, 3 iterations, 4 lanes), so
every unlock the server actually runs costs what it costs in production, and the
memory bound below means something. login.* is set so throttling starts early
(delays from the first failure, at most 1 s; refusal after 5 failures per address or
per mailbox); login.max_concurrent_unlocks keeps its default, 4.

Phase 1: 500 attempts from one address (127.0.0.2), phase 2: 500 from 250 loopback
addresses (127.0.1.x, two each); each phase half POP3 (STLS, USER/PASS) and half IMAP
(STARTTLS, LOGIN), 50 connections at a time, all against one victim mailbox.

Proven: every attempt fails with the protocol's one failure reply; almost all are
refused by the throttle without any Argon2 work (counted from the audit log: "wrong
passphrase" means an unlock ran, "too many failures" means it was refused); the
server's peak memory stays below what max_concurrent_unlocks allows (a flood of
logins would otherwise need 64 MiB each); the server stays up; and the right
passphrase still works for the client that normally uses the victim mailbox (an
address it logged in from before the attack), for another mailbox from a fresh
address, and never from the attacking address.
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from storage import KdfParams

from .support import Box, Gateway, insecure_tls, make_mailboxes

pytestmark = pytest.mark.timeout(240)  # hang detection, not a speed target

MiB = 1024
ARGON_MIB = 64  # KdfParams() default memory, per unlock
MAX_UNLOCKS = 4  # login.max_concurrent_unlocks default
PARALLEL = 50
LOCKOUT = 5
POLICY = {
    "GATEWAY_LOGIN__FAILURES_BEFORE_DELAY": "1",
    "GATEWAY_LOGIN__MAX_DELAY": "1.0",
    "GATEWAY_LOGIN__LOCKOUT_FAILURES": str(LOCKOUT),
    "GATEWAY_LOGIN__WINDOW": "900",
}
# The server's own KDF settings too (its stand-in unlock for unknown names uses them).
REAL_ARGON = {
    "GATEWAY_CRYPTO__ARGON2_MEMORY_KIB": "65536",
    "GATEWAY_CRYPTO__ARGON2_ITERATIONS": "3",
    "GATEWAY_CRYPTO__ARGON2_LANES": "4",
}
WRONG = "WRONG-WRONG-WRONG-WRONG-WRONG-WRONG"
POP3_FAILED = b"-ERR [AUTH] authentication failed"
IMAP_FAILED = "[AUTHENTICATIONFAILED] authentication failed"


class SourcedPOP3(poplib.POP3):
    """poplib.POP3 connecting from a chosen loopback address."""

    def __init__(self, source: str, port: int) -> None:
        self.source = source
        super().__init__("127.0.0.1", port, timeout=60)

    def _create_socket(self, timeout: float) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self.source, 0)
        )


class SourcedIMAP4(imaplib.IMAP4):
    def __init__(self, source: str, port: int) -> None:
        self.source = source
        super().__init__("127.0.0.1", port, timeout=60)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self.source, 0)
        )


def pop3_attempts(port: int, source: str, user: str, passphrases: list[str]) -> list[str]:
    """Wrong passphrases over one STLS session (the server drops it after the third)."""
    outcomes = []
    client = SourcedPOP3(source, port)
    try:
        client.stls(context=insecure_tls())
        for passphrase in passphrases:
            client.user(user)
            try:
                client.pass_(passphrase)
                outcomes.append("ok")
                break
            except poplib.error_proto as exc:
                assert exc.args[0] == POP3_FAILED, exc.args
                outcomes.append("failed")
    finally:
        with contextlib.suppress(OSError):
            client.close()
    return outcomes


def imap_attempts(port: int, source: str, user: str, passphrases: list[str]) -> list[str]:
    outcomes = []
    client = SourcedIMAP4(source, port)
    try:
        client.starttls(ssl_context=insecure_tls())
        for passphrase in passphrases:
            try:
                client.login(user, passphrase)
                outcomes.append("ok")
                break
            except imaplib.IMAP4.error as exc:
                assert IMAP_FAILED in str(exc), exc
                outcomes.append("failed")
    finally:
        with contextlib.suppress(OSError):
            client.shutdown()
    return outcomes


def login_works(gateway: Gateway, box: Box, source: str) -> tuple[bool, bool]:
    pop3 = pop3_attempts(gateway.pop3, source, box.address, [box.passphrase]) == ["ok"]
    imap = imap_attempts(gateway.imap, source, box.address, [box.passphrase]) == ["ok"]
    return pop3, imap


def audit_reasons(data: Path) -> dict[str, int]:
    """Failed logins by reason, from the audit log: "wrong passphrase" means Argon2 ran."""
    with contextlib.closing(sqlite3.connect(data / "gateway.db")) as db:
        rows = db.execute(
            "SELECT action, detail, count(*) FROM audit WHERE action LIKE '%.login-failed'"
            " GROUP BY action, detail"
        ).fetchall()
    reasons: dict[str, int] = {}
    for action, detail, count in rows:
        reasons[detail] = reasons.get(detail, 0) + count
        reasons[f"{action}: {detail}"] = count
    return reasons


def attack(gateway: Gateway, victim: Box, sources: list[str], attempts: int) -> list[str]:
    """`attempts` wrong passphrases: half POP3 (3 per session), half IMAP (5 per session)."""
    jobs = []
    pop3_left, imap_left, n = attempts // 2, attempts - attempts // 2, 0
    while pop3_left > 0 or imap_left > 0:
        source = sources[n % len(sources)]
        n += 1
        if pop3_left > 0:
            count = min(3, pop3_left)
            pop3_left -= count
            jobs.append((pop3_attempts, gateway.pop3, source, victim.address, [WRONG] * count))
        if imap_left > 0:
            count = min(5, imap_left)
            imap_left -= count
            jobs.append((imap_attempts, gateway.imap, source, victim.address, [WRONG] * count))
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda job: job[0](*job[1:]), jobs))
    return [outcome for result in results for outcome in result]


def test_brute_force_is_throttled_bounded_and_locks_out_nobody_legitimate(
    tmp_path, figures
) -> None:
    data = tmp_path / "data"
    victim, other = make_mailboxes(data, 2, kdf=KdfParams())  # real Argon2id parameters
    gateway = Gateway(data, env={**POLICY, **REAL_ARGON})
    gateway.wait_ready()
    try:
        # The victim's own archiver logs in as usual before the attack.
        assert login_works(gateway, victim, "127.0.2.1") == (True, True)
        baseline, _ = gateway.memory_kib()
        started = time.monotonic()
        one = attack(gateway, victim, ["127.0.0.2"], 500)
        after_one = audit_reasons(data)
        many = attack(gateway, victim, [f"127.0.1.{i}" for i in range(1, 251)], 500)
        attack_seconds = time.monotonic() - started
        reasons = audit_reasons(data)

        assert len(many) + len(one) == 1000
        assert set(many) | set(one) == {"failed"}
        assert gateway.alive()

        # Throttled: Argon2 ran only for a handful of the attempts; the rest were refused.
        unlocks = reasons.get("wrong passphrase", 0)
        refused = reasons.get("too many failures: temporarily refused", 0)
        assert unlocks + refused == 1000, reasons
        assert (
            reasons.get("pop3.login-failed: wrong passphrase", 0)
            + reasons.get("pop3.login-failed: too many failures: temporarily refused", 0)
            == 500
        )
        assert unlocks <= LOCKOUT + MAX_UNLOCKS - 1, reasons  # the last ones already running

        # Argon2 concurrency bounded: memory peaked below what 4 unlocks at once may use.
        _, peak = gateway.memory_kib()
        bound = baseline + (MAX_UNLOCKS + 1) * ARGON_MIB * MiB + 64 * MiB
        assert peak < bound, f"peak {peak // MiB} MiB, bound {bound // MiB} MiB"
        figures.record(
            "brute force",
            wrong_passphrases=1000,
            argon2_unlocks_run=unlocks,
            refused_without_argon2=refused,
            by_protocol={k: v for k, v in reasons.items() if ": " in k},
            one_address_phase_unlocks=after_one.get("wrong passphrase", 0),
            attack_seconds=round(attack_seconds, 1),
            baseline_rss_mib=baseline // MiB,
            peak_rss_mib=peak // MiB,
            rss_bound_mib=bound // MiB,
        )

        # The right passphrase for the victim, after the attack: refused from an address
        # never seen before (the mailbox is locked against distributed guessing) ...
        assert login_works(gateway, victim, "127.0.4.1") == (False, False)
        # ... accepted from the address its archiver always uses ...
        assert login_works(gateway, victim, "127.0.2.1") == (True, True)
        # ... refused from the attacking address (its own failures), and another mailbox
        # is unaffected, from a new address too.
        assert login_works(gateway, victim, "127.0.0.2") == (False, False)
        assert login_works(gateway, other, "127.0.3.1") == (True, True)
        assert not gateway.log_problems(), gateway.log_problems()
    finally:
        assert gateway.stop() == 0
