"""Prometheus metrics for `/metrics` (served by the console's listener).

Counters kept by the services in `GatewayContext.counters` (plain dict, "area.name"
keys) are exported at scrape time; the SMTP delivery-latency histogram and login
results are recorded as they happen. Gauges (disk free, certificate expiry, Argon2
unlocks in flight, per-mailbox messages, bytes and overdue passphrases) are read at
scrape time, off the event loop. No label ever carries an address, a subject or a
secret: mailbox labels are the opaque mailbox ids.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from storage.policy import passphrase_age

if TYPE_CHECKING:
    from aiohttp import web

    from .context import GatewayContext

PREFIX = "journal_gateway"
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

# ctx.counters key → (metric name, help, labels) ; keys not listed are exported generically
_KNOWN = {
    "smtp.connections": ("smtp_connections", "SMTP connections accepted", {}),
    "smtp.connections_refused": (
        "smtp_connections_refused",
        "SMTP connections refused (caps, networks)",
        {},
    ),
    "smtp.messages_accepted": (
        "smtp_messages",
        "SMTP transactions by result",
        {"result": "accepted"},
    ),
    "smtp.messages_rejected": (
        "smtp_messages",
        "SMTP transactions by result",
        {"result": "rejected"},
    ),
    "smtp.messages_deferred": (
        "smtp_messages",
        "SMTP transactions by result",
        {"result": "deferred"},
    ),
    "smtp.bytes_accepted": ("smtp_bytes", "Message bytes accepted over SMTP", {}),
    "smtp.copies_stored": ("smtp_copies_stored", "Encrypted copies stored (one per mailbox)", {}),
    "smtp.recipients_rejected": ("smtp_recipients_rejected", "Recipients refused at RCPT", {}),
}


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.delivery_seconds = Histogram(
            f"{PREFIX}_smtp_transaction_seconds",
            "SMTP transaction duration (MAIL to reply)",
            ["result"],
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self._snapshot: dict = {}

    def observe_transaction(self, result: str, seconds: float) -> None:
        self.delivery_seconds.labels(result=_result_class(result)).observe(seconds)

    def attach(self, ctx: GatewayContext) -> None:
        self.registry.register(_ContextCollector(ctx, self))

    async def handler(self, ctx: GatewayContext, request: web.Request) -> web.StreamResponse:
        from aiohttp import web as aioweb

        self._snapshot = await ctx.store.act(_store_snapshot)
        body = generate_latest(self.registry)
        return aioweb.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _result_class(result: str) -> str:
    return {"2": "accepted", "4": "deferred", "5": "rejected"}.get(result[:1], "other")


def _store_snapshot(store) -> dict:
    now = time.time()
    return {
        "mailboxes": [
            (m.id, m.domain, m.messages, m.bytes, passphrase_age(m, now).overdue)
            for m in store.mailboxes.list()
        ],
        "free_bytes": store.maintenance.free_bytes(),
    }


class _ContextCollector:
    def __init__(self, ctx: GatewayContext, metrics: GatewayMetrics) -> None:
        self.ctx = ctx
        self.metrics = metrics

    def collect(self) -> Iterator:
        yield from self._counters()
        yield from self._logins()
        yield from self._gauges()

    def _counters(self) -> Iterator:
        families: dict[str, CounterMetricFamily] = {}
        for key, value in sorted(self.ctx.counters.items()):
            if key.startswith("smtp.journal."):
                name, doc, labels = (
                    "smtp_journal_reports",
                    "Accepted messages by journal kind",
                    {"kind": key.rsplit(".", 1)[1]},
                )
            else:
                name, doc, labels = _KNOWN.get(key, (key.replace(".", "_"), f"Count of {key}", {}))
            family = families.get(name)
            if family is None:
                family = families[name] = CounterMetricFamily(
                    f"{PREFIX}_{name}", doc, labels=list(labels)
                )
            family.add_metric(list(labels.values()), value)
        yield from families.values()

    def _logins(self) -> Iterator:
        family = CounterMetricFamily(
            f"{PREFIX}_logins", "POP3/IMAP logins by result", labels=["protocol", "result"]
        )
        for (protocol, result), value in sorted(self.ctx.authenticator.results.items()):
            family.add_metric([protocol, result], value)
        yield family
        auth = self.ctx.authenticator
        yield CounterMetricFamily(
            f"{PREFIX}_login_throttled",
            "Failed logins delayed, or refused because too many were waiting",
            value=auth.throttled_total,
        )
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

    def _gauges(self) -> Iterator:
        snapshot = self.metrics._snapshot
        yield GaugeMetricFamily(
            f"{PREFIX}_disk_free_bytes",
            "Free bytes on the data disk",
            value=snapshot.get("free_bytes", 0),
        )
        cert = self.ctx.tls.info()
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
        messages = GaugeMetricFamily(
            f"{PREFIX}_mailbox_messages",
            "Messages stored per mailbox",
            labels=["mailbox", "domain"],
        )
        stored = GaugeMetricFamily(
            f"{PREFIX}_mailbox_bytes",
            "Encrypted bytes stored per mailbox",
            labels=["mailbox", "domain"],
        )
        overdue = GaugeMetricFamily(
            f"{PREFIX}_mailbox_passphrase_overdue",
            "1 when the mailbox passphrase is older than its maximum age, else 0",
            labels=["mailbox", "domain"],
        )
        mailboxes = snapshot.get("mailboxes", [])
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
