"""The ACME manager task of `gateway serve`: issue, renew, back off, hot-load.

Every process runs one; the one holding the store lease `acme` does the work (with
several workers, or several nodes on one shared index). The others only keep trying
for the lease, so one of them takes over within a lease ttl if the holder dies. The
state is the store's (store.certificates): the account key and the certificate's key
sealed, the HTTP-01 answers pending there for whichever node the CA reaches, the status.
Every process picks a new certificate up from the store (sync.py, tls.reload_interval).

Schedule: a certificate is due when it is missing, does not cover tls.acme_domains,
came from another tls.acme_directory, or tls.acme_renew_fraction of its lifetime has
passed. A failed attempt waits tls.acme_retry_min, doubled per consecutive failure up
to tls.acme_retry_max, each wait drawn between half and all of it (jitter, so many
gateways do not retry in step). The failure count lives in the store's status, so a
restart does not hammer the CA. A failed attempt never touches the live certificate.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import josepy as jose
from cryptography import x509

from storage.acme_status import AcmeStatus, live_pem, write_status
from storage.contract import LiveCertificate
from storage.errors import SealError

from ..context import GatewayContext
from .client import AcmeError, AcmeRequest, Issued, check_pair, issue, new_account_key, save_live
from .sync import CertificateSync

log = logging.getLogger("gateway.acme")
LEASE = "acme"
LEASE_TTL = 300.0  # seconds; renewed at least every CHECK_INTERVAL while held
CHECK_INTERVAL = 60.0  # longest sleep between two looks at the schedule
CHALLENGE_TTL = 600.0  # seconds an HTTP-01 answer stays pending at most (a crash mid-order)
T = TypeVar("T")


def configured_domains(ctx: GatewayContext) -> tuple[str, ...]:
    return tuple(ctx.settings.tls.acme_domains or [ctx.hostname])


class StoreBoard:
    """The ChallengeBoard of client.py on the store, called from the issuing thread."""

    def __init__(self, ctx: GatewayContext, loop: asyncio.AbstractEventLoop) -> None:
        self.ctx, self.loop = ctx, loop

    def publish(self, token: str, key_authorization: str) -> None:
        area = self.ctx.store.certificates
        coroutine = area.add_challenge(token, key_authorization, CHALLENGE_TTL)
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def withdraw(self, token: str) -> None:
        coroutine = self.ctx.store.certificates.remove_challenge(token)
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()


class AcmeManager:
    def __init__(
        self,
        ctx: GatewayContext,
        sync: CertificateSync | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ctx = ctx
        self.sync = sync
        self.settings = ctx.settings.tls
        self.data_dir = ctx.data_dir
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.request = AcmeRequest(
            directory=self.settings.acme_directory,
            domains=configured_domains(ctx),
            email=self.settings.acme_email,
            ca_file=self.settings.acme_ca_file,
        )

    async def run(self) -> None:
        while True:
            try:
                delay = await self.step()
            except Exception:
                log.exception("ACME manager: unexpected error; trying again later")
                delay = CHECK_INTERVAL
            await asyncio.sleep(delay)

    async def release(self) -> None:
        """Give the lease up at shutdown, so a restarted gateway need not wait a ttl."""
        await self.ctx.store.leases.release(LEASE, self.owner)

    async def step(self) -> float:
        """One look at the schedule; returns how long to sleep before the next."""
        if not await self.ctx.store.leases.acquire(LEASE, self.owner, LEASE_TTL):
            return CHECK_INTERVAL
        status = await self._status()
        live = await self.ctx.store.certificates.live(with_key=False)
        wait = self._seconds_until_due(status, live)
        if wait > 0:
            return min(wait, CHECK_INTERVAL)
        await self._attempt(status, first=live is None)
        status = await self._status()
        live = await self.ctx.store.certificates.live(with_key=False)
        return max(1.0, min(self._seconds_until_due(status, live), CHECK_INTERVAL))

    async def _status(self) -> AcmeStatus:
        status = await self.ctx.store.certificates.status() or AcmeStatus()
        if (status.directory, tuple(status.domains)) != (
            self.request.directory,
            self.request.domains,
        ):
            # Another CA or other names: earlier failures do not count against this one.
            status.failures, status.next_attempt, status.last_error = 0, 0.0, ""
        return status

    def _seconds_until_due(self, status: AcmeStatus, live: LiveCertificate | None) -> float:
        now = self.clock()
        if status.failures:
            return status.next_attempt - now
        facts = _facts(live)
        if facts is None or facts["directory"] != self.request.directory:
            return 0.0
        if not set(self.request.domains) <= set(facts["domains"]):
            return 0.0
        lifetime = facts["not_after"] - facts["not_before"]
        return facts["not_before"] + self.settings.acme_renew_fraction * lifetime - now

    async def _attempt(self, status: AcmeStatus, first: bool) -> None:
        log.info(
            "ACME: %s a certificate for %s from %s",
            "requesting" if first else "renewing",
            ", ".join(self.request.domains),
            self.request.directory,
        )
        status.directory, status.domains = self.request.directory, list(self.request.domains)
        status.last_attempt = self.clock()
        keeper = asyncio.create_task(self._keep_lease())
        try:
            account_key = await self._account_key()
            board = StoreBoard(self.ctx, asyncio.get_running_loop())
            issued = await _in_thread(lambda: self._issue_checked(account_key, board))
            live = await self.ctx.store.certificates.put_live(
                issued.fullchain_pem, issued.key_pem, self.request.directory
            )
        except (AcmeError, SealError) as exc:
            await self._failed(status, str(exc))
            return
        except Exception as exc:  # a bug or a full disk: still a failure, still backed off
            log.exception("ACME: unexpected error during the attempt")
            await self._failed(status, f"unexpected error: {type(exc).__name__}")
            return
        finally:
            keeper.cancel()
        await self._succeeded(status, live)
        until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(status.not_after))
        log.info("ACME: certificate %s, valid until %s", "issued" if first else "renewed", until)

    async def _account_key(self) -> jose.JWK:
        """The store's account key, made on first use (of racing nodes, the first one's
        is kept)."""
        area = self.ctx.store.certificates
        stored = await area.account_key() or await area.keep_account_key(new_account_key())
        return jose.JWK.json_loads(stored)

    def _issue_checked(self, account_key: jose.JWK, board: StoreBoard) -> Issued:
        """Issue and check: only a checked pair ever replaces the live certificate."""
        issued = issue(self.request, account_key, board)
        check_pair(issued, self.request.domains)
        return issued

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            await self.ctx.store.leases.renew(LEASE, self.owner, LEASE_TTL)

    async def _succeeded(self, status: AcmeStatus, live: LiveCertificate) -> None:
        """The store has the new certificate (every node loads it from there); this
        process writes its own cache and loads it at once."""
        cert = x509.load_pem_x509_certificate(live.chain_pem.encode())
        status.issuer = cert.issuer.rfc4514_string()
        status.sha256, status.not_after = live.sha256, cert.not_valid_after_utc.timestamp()
        status.not_before = cert.not_valid_before_utc.timestamp()
        status.issued_at = self.clock()
        status.last_error, status.failures, status.next_attempt = "", 0, 0.0
        await self._save_status(status)
        try:
            save_live(Issued(live.chain_pem, live.key_pem), live_pem(self.data_dir))
            self.ctx.tls.reload(force=True)
        except (OSError, ValueError) as exc:
            log.error("ACME: new certificate stored but not loaded here: %s", exc)
        else:
            if self.sync is not None:
                self.sync.remember(live.sha256, status)
        self.ctx.metrics.acme_renewals.labels(result="success").inc()

    async def _save_status(self, status: AcmeStatus) -> None:
        """In the store (the truth, for every node) and in this node's cache."""
        await self.ctx.store.certificates.put_status(status)
        write_status(self.data_dir, status)

    async def _failed(self, status: AcmeStatus, reason: str) -> None:
        status.failures += 1
        status.last_error = reason
        status.next_attempt = self.clock() + self.backoff(status.failures)
        try:
            await self._save_status(status)
        except Exception:  # the store is down: the next look fails too and waits a minute
            log.exception("ACME: could not record the failed attempt")
        self.ctx.metrics.acme_renewals.labels(result="failure").inc()
        log.error(
            "ACME: attempt %d failed, keeping the current certificate; next try in %.0f s: %s",
            status.failures,
            status.next_attempt - self.clock(),
            reason,
        )

    def backoff(self, failures: int) -> float:
        """Exponential, capped, with jitter: between half and all of min * 2^(n-1)."""
        ceiling = min(
            self.settings.acme_retry_max, self.settings.acme_retry_min * 2 ** (failures - 1)
        )
        return random.uniform(ceiling / 2, ceiling)


def _facts(live: LiveCertificate | None) -> dict | None:
    """The live certificate's names and times, with the directory it came from."""
    if live is None:
        return None
    try:
        cert = x509.load_pem_x509_certificate(live.chain_pem.encode())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return None
    return {
        "domains": san.get_values_for_type(x509.DNSName),
        "not_before": cert.not_valid_before_utc.timestamp(),
        "not_after": cert.not_valid_after_utc.timestamp(),
        "directory": live.directory,
    }


async def _in_thread(work: Callable[[], T]) -> T:
    """Run blocking `work` in a daemon thread: unlike the default executor, shutdown
    does not wait for an ACME request in flight."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(setter: Callable, value: object) -> None:
        if not future.done():
            setter(value)

    def hand_over(setter: Callable, value: object) -> None:
        try:
            loop.call_soon_threadsafe(deliver, setter, value)
        except RuntimeError:  # the loop closed meanwhile (shutdown): nobody waits
            pass

    def target() -> None:
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting task
            hand_over(future.set_exception, exc)
        else:
            hand_over(future.set_result, result)

    threading.Thread(target=target, name="acme", daemon=True).start()
    return await future
