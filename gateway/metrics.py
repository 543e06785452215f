"""Prometheus metrics for `/metrics` (served by the console's listener).

Every counter and histogram is declared once, below, as a named attribute of
`GatewayMetrics`, on a registry that object owns (no global registry), and the services
increment it directly: `ctx.metrics.smtp_messages.labels(result="accepted").inc()`.
They are plain prometheus_client objects; under `gateway serve` with several workers,
prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by the parent,
gateway/workers.py) keeps each worker's values in that directory and /metrics, on any
worker, sums them all; the scrape-time gauges are the answering worker's view.
Gauges of state that exists anyway (disk free,
certificate expiry, Argon2 unlocks in flight, per-mailbox messages, bytes and overdue
passphrases) are read at scrape time by one collector, the store's part off the event
loop. No label ever carries an address, a subject or a secret: mailbox labels are the
opaque mailbox ids.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from storage.acme_status import AcmeStatus, read_status
from storage.async_store import AsyncStore
from storage.policy import passphrase_age

from .login import Authenticator
from .tls import TlsManager

PREFIX = "journal_gateway"
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class MetricSources(Protocol):
    """What the scrape-time gauges read (a GatewayContext has all of it)."""

    store: AsyncStore
    authenticator: Authenticator
    tls: TlsManager


class GatewayMetrics:
    """The gateway's collectors, one attribute each, registered on `self.registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._snapshot: dict = {}
        self._gauges: _ScrapeTimeGauges | None = None

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(f"{PREFIX}_{name}", doc, labels, registry=self.registry)

        # SMTP (gateway/smtp/server.py, txlog.py)
        self.smtp_connections = counter("smtp_connections", "SMTP connections accepted")
        self.smtp_connections_refused = counter(
            "smtp_connections_refused", "SMTP connections refused (caps, networks)"
        )
        self.smtp_messages = counter(
            "smtp_messages", "SMTP transactions by result", ("result",)
        )  # result: accepted, rejected, deferred
        self.smtp_bytes = counter("smtp_bytes", "Message bytes accepted over SMTP")
        self.smtp_copies_stored = counter(
            "smtp_copies_stored", "Encrypted copies stored (one per mailbox)"
        )
        self.smtp_recipients_rejected = counter(
            "smtp_recipients_rejected", "Recipients refused at RCPT"
        )
        self.smtp_journal_reports = counter(
            "smtp_journal_reports", "Accepted messages by journal kind", ("kind",)
        )
        self.smtp_transaction_seconds = Histogram(
            f"{PREFIX}_smtp_transaction_seconds",
            "SMTP transaction duration (MAIL to reply)",
            ["result"],
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        # Relay copies (gateway/smtp/relaying.py), one per target and message
        self.relay_copies = counter(
            "relay_copies", "Relay copies by result", ("result",)
        )  # result: sent, deferred, missed, duplicate, loop
        # Robots (gateway/robots/responder.py); result: sent, suppressed, failed
        self.robot_replies = counter(
            "robot_replies", "Robot auto-replies by result and reason", ("result", "reason")
        )
        # POP3 and IMAP (gateway/pop3, gateway/imap, gateway/retrieval/sign_in.py)
        self.logins = counter(
            "logins", "POP3/IMAP logins by result", ("protocol", "result")
        )  # result: ok, failed
        self.login_throttled = counter(
            "login_throttled", "Failed logins delayed, or refused because too many were waiting"
        )
        self.pop3_sessions = counter("pop3_sessions", "POP3 sessions started")
        self.pop3_login_failures = counter(
            "pop3_login_failures", "POP3 logins that failed (any reason)"
        )
        self.pop3_messages_deleted = counter(
            "pop3_messages_deleted", "Messages deleted by POP3 clients at QUIT"
        )
        self.pop3_damaged = counter(
            "pop3_damaged", "POP3 retrievals dropped because a message failed authentication"
        )
        self.imap_connections = counter("imap_connections", "IMAP connections accepted")
        # With several workers (gateway/listeners.py): which worker took each connection
        self.worker_connections = counter(
            "worker_connections",
            "Connections accepted, by worker process (index) and listener",
            ("worker", "listener"),
        )
        self.imap_damaged = counter(
            "imap_damaged", "IMAP sessions dropped because a message failed authentication"
        )
        # Built-in ACME (gateway/acme/manager.py): one per issuance or renewal attempt.
        self.acme_renewals = counter(
            "acme_renewals", "ACME certificate attempts by result", ("result",)
        )  # result: success, failure
        for result in ("success", "failure"):  # both exported from the first scrape
            self.acme_renewals.labels(result=result)

        # fetch sources (gateway/sources/fetch.py)
        self.source_messages = counter(
            "source_messages", "Messages from fetch sources by result", ("result",)
        )  # result: fetched, skipped
        self.source_bytes = counter("source_bytes", "Message bytes fetched from sources")
        self.source_failures = counter(
            "source_failures", "Failed fetch-source runs by cause", ("cause",)
        )  # cause: auth, connect, tls, timeout, protocol, credentials, internal

    def attach(self, sources: MetricSources) -> None:
        """Add the scrape-time gauges read from `sources` (once per process)."""
        self._gauges = _ScrapeTimeGauges(sources, self)
        self.registry.register(self._gauges)

    def _scrape_registry(self) -> CollectorRegistry:
        """This process's registry, or, with workers, every worker's values summed."""
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory:
            return self.registry
        summed = CollectorRegistry()
        MultiProcessCollector(summed, directory)
        if self._gauges is not None:
            summed.register(self._gauges)
        return summed

    async def handler(self, sources: MetricSources, request: web.Request | None) -> web.Response:
        """The /metrics response; the web layer checks the bearer token before calling."""
        self._snapshot = await sources.store.act(_store_snapshot)
        body = generate_latest(self._scrape_registry())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def result_class(reply: str) -> str:
    """An SMTP reply's class as a label value: accepted, deferred, rejected or other."""
    return {"2": "accepted", "4": "deferred", "5": "rejected"}.get(reply[:1], "other")


def _store_snapshot(store) -> dict:
    now = time.time()
    return {
        "mailboxes": [
            (m.id, m.domain, m.messages, m.bytes, passphrase_age(m, now).overdue)
            for m in store.mailboxes.list()
        ],
        "free_bytes": store.maintenance.free_bytes(),
        "sources": [(s.id, s.mailbox_id, s.last_success, s.failing) for s in store.sources.list()],
    }


class _ScrapeTimeGauges:
    """Gauges of state kept elsewhere, read when /metrics is scraped."""

    def __init__(self, sources: MetricSources, metrics: GatewayMetrics) -> None:
        self.sources = sources
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._logins()
        yield from self._host()
        yield from self._mailboxes()
        yield from self._sources()

    def _sources(self) -> Iterator[GaugeMetricFamily]:
        labels = ["source", "mailbox"]
        success = GaugeMetricFamily(
            f"{PREFIX}_source_last_success_timestamp_seconds",
            "When each fetch source last ran without failing (Unix time; 0: never)",
            labels=labels,
        )
        failing = GaugeMetricFamily(
            f"{PREFIX}_source_failing", "1 while the fetch source's last run failed", labels=labels
        )
        for source_id, mailbox_id, last_success, is_failing in self.metrics._snapshot.get(
            "sources", []
        ):
            success.add_metric([source_id, mailbox_id], last_success or 0)
            failing.add_metric([source_id, mailbox_id], 1 if is_failing else 0)
        yield success
        yield failing

    def _logins(self) -> Iterator[GaugeMetricFamily]:
        auth = self.sources.authenticator
        yield GaugeMetricFamily(
            f"{PREFIX}_login_waiting",
            "Login attempts waiting for an Argon2id unlock slot",
            value=auth.scheduler.waiting,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_argon2_unlocks_in_flight",
            "Argon2id passphrase unlocks running now",
            value=auth.unlocks_in_flight,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_unlock_cache_entries",
            "Unlocked mailbox keys this worker holds for repeat logins",
            value=len(auth.unlock_cache),
        )

    def _host(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            f"{PREFIX}_disk_free_bytes",
            "Free bytes on the data disk",
            value=self.metrics._snapshot.get("free_bytes", 0),
        )
        cert = self.sources.tls.info()
        yield GaugeMetricFamily(
            f"{PREFIX}_tls_certificate_expiry_timestamp_seconds",
            "When the TLS certificate expires (Unix time)",
            value=cert["not_after"],
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_tls_certificate_seconds_left",
            "Seconds until the TLS certificate expires",
            value=cert["not_after"] - time.time(),
        )
        yield from self._acme()

    def _acme(self) -> Iterator[GaugeMetricFamily]:
        tls = self.sources.tls
        if tls.acme_pem is None:
            return
        status = read_status(tls.data_dir) or AcmeStatus()
        yield GaugeMetricFamily(
            f"{PREFIX}_acme_consecutive_failures",
            "ACME attempts that failed since the last success (0: the last one worked)",
            value=status.failures,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_acme_next_retry_timestamp_seconds",
            "When the next ACME attempt after a failure is due (Unix time; 0: none pending)",
            value=status.next_attempt if status.failures else 0,
        )

    def _mailboxes(self) -> Iterator[GaugeMetricFamily]:
        labels = ["mailbox", "domain"]
        messages = GaugeMetricFamily(
            f"{PREFIX}_mailbox_messages", "Messages stored per mailbox", labels=labels
        )
        stored = GaugeMetricFamily(
            f"{PREFIX}_mailbox_bytes", "Encrypted bytes stored per mailbox", labels=labels
        )
        overdue = GaugeMetricFamily(
            f"{PREFIX}_mailbox_passphrase_overdue",
            "1 when the mailbox passphrase is older than its maximum age, else 0",
            labels=labels,
        )
        mailboxes = self.metrics._snapshot.get("mailboxes", [])
        for mailbox_id, domain, count, size, is_overdue in mailboxes:
            messages.add_metric([mailbox_id, domain], count)
            stored.add_metric([mailbox_id, domain], size)
            overdue.add_metric([mailbox_id, domain], 1 if is_overdue else 0)
        yield messages
        yield stored
        yield overdue
        yield GaugeMetricFamily(
            f"{PREFIX}_mailboxes_passphrase_overdue",
            "Mailboxes whose passphrase is older than their maximum age",
            value=sum(1 for *_, is_overdue in mailboxes if is_overdue),
        )
