"""The ACME manager task of `gateway serve`: issue, renew, back off, hot-load.

Every process runs one; the one holding the store lease `acme` does the work (with
several workers, or several processes on one data directory). The others only keep
trying for the lease, so one of them takes over within a lease ttl if the holder dies,
and pick the new certificate up through the TLS reload watcher (tls.reload_interval).

Schedule: a certificate is due when it is missing, does not cover tls.acme_domains,
came from another tls.acme_directory, or tls.acme_renew_fraction of its lifetime has
passed. A failed attempt waits tls.acme_retry_min, doubled per consecutive failure up
to tls.acme_retry_max, each wait drawn between half and all of it (jitter, so many
gateways do not retry in step). The failure count lives in status.json, so a restart
does not hammer the CA. A failed attempt never touches the live certificate.
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

from cryptography import x509

from storage.acme_status import AcmeStatus, live_pem, read_status, write_status

from ..context import GatewayContext
from ..tls import certificate_info
from .client import AcmeError, AcmeRequest, check_pair, issue, save_live

log = logging.getLogger("gateway.acme")
LEASE = "acme"
LEASE_TTL = 300.0  # seconds; renewed at least every CHECK_INTERVAL while held
CHECK_INTERVAL = 60.0  # longest sleep between two looks at the schedule
T = TypeVar("T")


def configured_domains(ctx: GatewayContext) -> tuple[str, ...]:
    return tuple(ctx.settings.tls.acme_domains or [ctx.hostname])


class AcmeManager:
    def __init__(self, ctx: GatewayContext, clock: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
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
        status = self._status()
        wait = self._seconds_until_due(status)
        if wait > 0:
            return min(wait, CHECK_INTERVAL)
        await self._attempt(status)
        return max(1.0, min(self._seconds_until_due(self._status()), CHECK_INTERVAL))

    def _status(self) -> AcmeStatus:
        status = read_status(self.data_dir) or AcmeStatus()
        if (status.directory, tuple(status.domains)) != (
            self.request.directory,
            self.request.domains,
        ):
            # Another CA or other names: earlier failures do not count against this one.
            status.failures, status.next_attempt, status.last_error = 0, 0.0, ""
        return status

    def _seconds_until_due(self, status: AcmeStatus) -> float:
        now = self.clock()
        if status.failures:
            return status.next_attempt - now
        facts = self._live_facts()
        if facts is None or facts["directory"] != self.request.directory:
            return 0.0
        if not set(self.request.domains) <= set(facts["domains"]):
            return 0.0
        lifetime = facts["not_after"] - facts["not_before"]
        return facts["not_before"] + self.settings.acme_renew_fraction * lifetime - now

    def _live_facts(self) -> dict | None:
        """The live certificate's names and times, with the directory it came from."""
        path = live_pem(self.data_dir)
        status = read_status(self.data_dir)
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (OSError, ValueError, x509.ExtensionNotFound):
            return None
        return {
            "domains": san.get_values_for_type(x509.DNSName),
            "not_before": cert.not_valid_before_utc.timestamp(),
            "not_after": cert.not_valid_after_utc.timestamp(),
            "directory": status.directory if status else "",
        }

    async def _attempt(self, status: AcmeStatus) -> None:
        first = not live_pem(self.data_dir).exists()
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
            await _in_thread(self._issue_checked)
        except AcmeError as exc:
            self._failed(status, str(exc))
            return
        except Exception as exc:  # a bug or a full disk: still a failure, still backed off
            log.exception("ACME: unexpected error during the attempt")
            self._failed(status, f"unexpected error: {type(exc).__name__}")
            return
        finally:
            keeper.cancel()
        self._succeeded(status)
        until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(status.not_after))
        log.info("ACME: certificate %s, valid until %s", "issued" if first else "renewed", until)

    def _issue_checked(self) -> None:
        """Issue, check, save: only a checked pair ever replaces the live file."""
        issued = issue(self.request, self.data_dir)
        check_pair(issued, self.request.domains)
        save_live(issued, live_pem(self.data_dir))

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            await self.ctx.store.leases.renew(LEASE, self.owner, LEASE_TTL)

    def _succeeded(self, status: AcmeStatus) -> None:
        path = live_pem(self.data_dir)
        try:
            self.ctx.tls.reload(force=True)
        except (OSError, ValueError) as exc:
            log.error("ACME: new certificate saved but not loaded: %s", exc)
        info = certificate_info(path)
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        status.issuer = cert.issuer.rfc4514_string()
        status.sha256, status.not_after = info["sha256"], info["not_after"]
        status.not_before = cert.not_valid_before_utc.timestamp()
        status.issued_at = self.clock()
        status.last_error, status.failures, status.next_attempt = "", 0, 0.0
        write_status(self.data_dir, status)
        self.ctx.metrics.acme_renewals.labels(result="success").inc()

    def _failed(self, status: AcmeStatus, reason: str) -> None:
        status.failures += 1
        status.last_error = reason
        status.next_attempt = self.clock() + self.backoff(status.failures)
        write_status(self.data_dir, status)
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
