"""Wrong-passphrase floods against POP3 and IMAP never lock out the right passphrase.

The mailboxes use the real Argon2id parameters (64 MiB, 3 iterations, 4 lanes), so
every unlock the server runs costs what it costs in production, and the memory bound
below means something. login.* is set so delays start early (from the first failure,
at most 1 s); login.max_concurrent_unlocks keeps its default, 4, and the deprecated
login.lockout_failures is still set, as an old configuration file would, to 5.

Phase 1: wrong passphrases from 250 loopback addresses (127.0.1.1 … 127.0.1.250), half
POP3 (STLS, USER/PASS), half IMAP (STARTTLS, LOGIN), 40 connections at a time, all
against one victim mailbox, until stopped. While it saturates the unlock slots the
right passphrase logs in over both protocols (a) from fresh addresses, one in the
flood's own /24 and one elsewhere, (b) from the address the victim's archiver logged
in from before, and for another mailbox. Phase 2: the server is restarted on the same
data directory; the index still knows the archiver's address, and (b) works again
under a new flood. Phase 3: 150 wrong passphrases from one address, 50 connections at
once: most are refused at the per-address bound without an Argon2 run, every reply is
the one failure reply, and afterwards the right passphrase works from that address too.

Proven throughout: every flood attempt fails with the protocol's one failure reply;
peak memory stays below what max_concurrent_unlocks allows; the server stays up and
logs no unhandled exception. Success is asserted, never speed.
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import socket
import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from storage import KdfParams, open_store

from .support import Box, Gateway, insecure_tls, make_mailboxes

pytestmark = pytest.mark.timeout(300)  # hang detection, not a speed target

MiB = 1024
ARGON_MIB = 64  # KdfParams() default memory, per unlock
MAX_UNLOCKS = 4  # login.max_concurrent_unlocks default
POLICY = {
    "GATEWAY_LOGIN__FAILURES_BEFORE_DELAY": "1",
    "GATEWAY_LOGIN__MAX_DELAY": "1.0",
    "GATEWAY_LOGIN__LOCKOUT_FAILURES": "5",  # deprecated: loads, and locks nobody out
    "GATEWAY_LOGIN__WINDOW": "900",
}
# The server's own KDF settings too (its stand-in unlock for unknown names uses them).
REAL_ARGON = {
    "GATEWAY_CRYPTO__ARGON2_MEMORY_KIB": "65536",
    "GATEWAY_CRYPTO__ARGON2_ITERATIONS": "3",
    "GATEWAY_CRYPTO__ARGON2_LANES": "4",
}
WRONG = "WRONG-WRONG-WRONG-WRONG-WRONG-WRONG"
POP3_IN_USE = b"-ERR [IN-USE]"
POP3_FAILED = b"-ERR [AUTH] authentication failed"
IMAP_FAILED = "[AUTHENTICATIONFAILED] authentication failed"
FLOOD = [f"127.0.1.{n}" for n in range(1, 251)]
ARCHIVER = "127.0.2.1"  # where the victim's archiver always logs in from
NOT_RUN = "too many logins waiting"  # audit reason: refused before any Argon2 run


class SourcedPOP3(poplib.POP3):
    """poplib.POP3 connecting from a chosen loopback address."""

    def __init__(self, source: str, port: int) -> None:
        self.source = source
        super().__init__("127.0.0.1", port, timeout=90)

    def _create_socket(self, timeout: float) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self.source, 0)
        )


class SourcedIMAP4(imaplib.IMAP4):
    def __init__(self, source: str, port: int) -> None:
        self.source = source
        super().__init__("127.0.0.1", port, timeout=90)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self.source, 0)
        )


def pop3_attempts(
    port: int, source: str, user: str, passphrases: list[str], stop: threading.Event | None = None
) -> list[str]:
    """Passphrases over one STLS session (the server drops it after the third failure)."""
    outcomes = []
    client = SourcedPOP3(source, port)
    try:
        client.stls(context=insecure_tls())
        for passphrase in passphrases:
            if stop is not None and stop.is_set():
                break
            client.user(user)
            try:
                client.pass_(passphrase)
                outcomes.append("ok")
                break
            except poplib.error_proto as exc:
                if exc.args[0].startswith(POP3_IN_USE):  # sent only after the passphrase
                    outcomes.append("in-use")  # was accepted: another session holds it
                    break
                assert exc.args[0] == POP3_FAILED, exc.args
                outcomes.append("failed")
    finally:
        with contextlib.suppress(OSError):
            client.close()
    return outcomes


def imap_attempts(
    port: int, source: str, user: str, passphrases: list[str], stop: threading.Event | None = None
) -> list[str]:
    outcomes = []
    client = SourcedIMAP4(source, port)
    try:
        client.starttls(ssl_context=insecure_tls())
        for passphrase in passphrases:
            if stop is not None and stop.is_set():
                break
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
    # Logins to one mailbox from several sources run at once: a POP3 one may find the
    # mailbox held by another (RFC 2449 [IN-USE]), which the server says only after it
    # accepted the passphrase, so it counts as getting in.
    outcome = pop3_attempts(gateway.pop3, source, box.address, [box.passphrase])
    pop3 = outcome in (["ok"], ["in-use"])
    imap = imap_attempts(gateway.imap, source, box.address, [box.passphrase]) == ["ok"]
    return pop3, imap


class Flood:
    """Wrong passphrases from `sources` on `workers` connections, until stopped.

    Bounded: at most `limit` attempts and `seconds` seconds, whatever happens. Worker n
    uses sources n, n + workers, ... so every connection at a given moment has its own
    address; even workers speak POP3 (3 attempts a session), odd ones IMAP (5).
    """

    def __init__(
        self,
        gateway: Gateway,
        victim: Box,
        sources: list[str],
        workers: int = 40,
        limit: int = 3000,
        seconds: float = 150,
    ) -> None:
        self.gateway, self.victim, self.sources = gateway, victim, sources
        self.workers, self.limit = workers, limit
        self.deadline = time.monotonic() + seconds
        self.stop = threading.Event()
        self.outcomes: list[str] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(workers)
        self._jobs: list[Future] = [self._pool.submit(self._work, n) for n in range(workers)]

    def _go_on(self) -> bool:
        with self._lock:
            left = len(self.outcomes) < self.limit
        return left and not self.stop.is_set() and time.monotonic() < self.deadline

    def _work(self, n: int) -> None:
        turn = n
        while self._go_on():
            source = self.sources[turn % len(self.sources)]
            turn += self.workers
            if n % 2 == 0:
                port, attempts, count = self.gateway.pop3, pop3_attempts, 3
            else:
                port, attempts, count = self.gateway.imap, imap_attempts, 5
            outcomes = attempts(port, source, self.victim.address, [WRONG] * count, self.stop)
            with self._lock:
                self.outcomes.extend(outcomes)

    def running(self) -> bool:
        return not self.stop.is_set() and all(not job.done() for job in self._jobs)

    def wait_answered(self, count: int, timeout: float = 90) -> None:
        """Until `count` attempts were answered: the slots are busy and the queue full."""
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < count:
            assert time.monotonic() < deadline, f"flood stalled at {len(self.outcomes)}"
            assert self.running(), "the flood ended early"
            time.sleep(0.1)

    def finish(self) -> list[str]:
        self.stop.set()
        try:
            for job in self._jobs:
                job.result()  # re-raises a worker's failed assertion
        finally:
            self._pool.shutdown(wait=True)
        return self.outcomes


def one_address_attack(gateway: Gateway, victim: Box, source: str, attempts: int) -> list[str]:
    """`attempts` wrong passphrases from one address, 50 connections at once."""
    jobs = []
    for n in range(attempts // 3):
        port, attempt = (gateway.pop3, pop3_attempts) if n % 2 else (gateway.imap, imap_attempts)
        jobs.append((attempt, port, source, victim.address, [WRONG] * 3))
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda job: job[0](*job[1:]), jobs))
    return [outcome for result in results for outcome in result]


def audit_reasons(data: Path) -> dict[str, int]:
    """Failed logins by reason, from the audit log: "wrong passphrase" means Argon2 ran."""
    with contextlib.closing(sqlite3.connect(data / "gateway.db")) as db:
        rows = db.execute(
            "SELECT detail, count(*) FROM audit WHERE action LIKE '%.login-failed' GROUP BY detail"
        ).fetchall()
    return dict(rows)


def known_clients(data: Path, box: Box) -> list[str]:
    store = open_store(data, kdf=KdfParams())
    try:
        return store.login_clients.known(box.id)
    finally:
        store.close()


def during(
    flood: Flood, logins: dict[str, tuple[Box, str]]
) -> tuple[dict[str, tuple[bool, bool]], bool]:
    """Each login (POP3, then IMAP) run at once while the flood goes on; whether the
    flood was still running when the last of them had succeeded or failed."""
    with ThreadPoolExecutor(len(logins)) as pool:
        futures = {
            name: pool.submit(login_works, flood.gateway, box, source)
            for name, (box, source) in logins.items()
        }
        results = {name: future.result() for name, future in futures.items()}
    return results, flood.running()


def test_floods_of_wrong_passphrases_never_lock_out_the_right_one(tmp_path, figures) -> None:
    data = tmp_path / "data"
    victim, other = make_mailboxes(data, 2, kdf=KdfParams())  # real Argon2id parameters
    env = {**POLICY, **REAL_ARGON}
    gateway = Gateway(data, env=env)
    gateway.wait_ready()
    try:
        # The victim's own archiver logs in as usual before the attack.
        assert login_works(gateway, victim, ARCHIVER) == (True, True)
        baseline, _ = gateway.memory_kib()

        # Phase 1: 250 addresses flood; the right passphrase gets in from everywhere.
        started = time.monotonic()
        flood = Flood(gateway, victim, FLOOD)
        flood.wait_answered(40)
        logins, flooded = during(
            flood,
            {
                "fresh, the flood's /24": (victim, "127.0.1.251"),
                "fresh, another network": (victim, "127.0.4.1"),
                "known address": (victim, ARCHIVER),
                "another mailbox, fresh": (other, "127.0.3.1"),
            },
        )
        legit_seconds = time.monotonic() - started
        outcomes = flood.finish()
        assert logins == dict.fromkeys(logins, (True, True))
        assert flooded, "the flood ended before the logins were done"
        assert outcomes and set(outcomes) == {"failed"}
        assert gateway.alive()
        _, peak = gateway.memory_kib()
        bound = baseline + (MAX_UNLOCKS + 1) * ARGON_MIB * MiB + 64 * MiB
        assert peak < bound, f"peak {peak // MiB} MiB, bound {bound // MiB} MiB"
        flood_reasons = audit_reasons(data)
        assert gateway.stop() == 0

        # Phase 2: a restart on the same data directory; the archiver is still known.
        known = known_clients(data, victim)
        assert {ARCHIVER, "127.0.1.251", "127.0.4.1"} <= set(known), known
        assert not set(FLOOD) & set(known), known  # no failed address ever becomes known
        gateway = Gateway(data, env=env)
        gateway.wait_ready()
        flood = Flood(gateway, victim, FLOOD)
        flood.wait_answered(40)
        after_restart, flooded = during(flood, {"known address": (victim, ARCHIVER)})
        restart_outcomes = flood.finish()
        assert after_restart == {"known address": (True, True)}
        assert flooded, "the flood ended before the login was done"
        assert set(restart_outcomes) == {"failed"}

        # Phase 3: one address, 50 connections at once: bounded, slowed, never locked.
        before = audit_reasons(data)
        one = one_address_attack(gateway, victim, "127.0.0.2", 150)
        after = audit_reasons(data)
        assert len(one) == 150 and set(one) == {"failed"}
        not_run = after.get(NOT_RUN, 0) - before.get(NOT_RUN, 0)
        unlocks = after.get("wrong passphrase", 0) - before.get("wrong passphrase", 0)
        assert not_run + unlocks == 150, after
        assert not_run > 0, after  # the per-address bound refused some without Argon2
        assert login_works(gateway, victim, "127.0.0.2") == (True, True)
        assert gateway.alive()
        assert not gateway.log_problems(), gateway.log_problems()
        figures.record(
            "login floods",
            flood_attempts=len(outcomes),
            flood_reasons=flood_reasons,
            legit_logins_done_after_s=round(legit_seconds, 1),
            after_restart_attempts=len(restart_outcomes),
            one_address_unlocks=unlocks,
            one_address_refused_at_bound=not_run,
            baseline_rss_mib=baseline // MiB,
            peak_rss_mib=peak // MiB,
            rss_bound_mib=bound // MiB,
        )
    finally:
        assert gateway.stop() == 0
