"""One SMTP transaction (MAIL to end of DATA) and its single log line.

The line holds time, client IP, TLS version, size, mailbox and message ids, journal
kind, result and duration. Envelope addresses appear only with smtp.log_addresses;
message content never does.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass, field

from storage import Mailbox

from ..metrics import GatewayMetrics, result_class
from .journal import NONE

log = logging.getLogger("gateway.smtp")


@dataclass
class Transaction:
    client_ip: str
    tls: str  # TLS version or "none"
    sender: str
    declared_size: int = 0  # MAIL FROM SIZE=, 0 when not given
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)
    recipients: dict[str, list[str]] = field(default_factory=dict)  # mailbox id → RCPTs
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (address, code)
    relaying: set[str] = field(default_factory=set)  # mailbox ids with relay targets at RCPT
    size: int = 0
    journal: str = NONE
    header: bytes = b""  # the header section (bounded), kept in memory for robots only
    message_ids: list[str] = field(default_factory=list)
    result: str = ""
    finished: bool = False

    def add_recipient(self, mailbox: Mailbox, address: str, relays: bool = False) -> None:
        """Two addresses of one mailbox make one copy; a repeated address counts once."""
        self.mailboxes.setdefault(mailbox.id, mailbox)
        if relays:
            self.relaying.add(mailbox.id)
        addresses = self.recipients.setdefault(mailbox.id, [])
        if address.lower() not in (a.lower() for a in addresses):
            addresses.append(address)

    def reject(self, address: str, reply: str) -> None:
        self.rejected.append((address, " ".join(reply.split()[:2])))

    def finish(self, result: str, metrics: GatewayMetrics, log_addresses: bool) -> None:
        """Record the outcome once: count it and write the log line."""
        if self.finished:
            return
        self.finished = True
        self.result = result
        self._count(metrics)
        log.info("%s", self.format(log_addresses))

    def _count(self, metrics: GatewayMetrics) -> None:
        metrics.smtp_recipients_rejected.inc(len(self.rejected))
        metrics.smtp_transaction_seconds.labels(result=result_class(self.result)).observe(
            time.monotonic() - self.started
        )
        if self.result.startswith("250"):
            metrics.smtp_messages.labels(result="accepted").inc()
            metrics.smtp_copies_stored.inc(len(self.message_ids))
            metrics.smtp_bytes.inc(self.size)
            metrics.smtp_journal_reports.labels(kind=self.journal).inc()
        elif self.result.startswith("5"):
            metrics.smtp_messages.labels(result="rejected").inc()
        elif self.result.startswith("4"):
            metrics.smtp_messages.labels(result="deferred").inc()

    def format(self, log_addresses: bool) -> str:
        when = datetime.datetime.fromtimestamp(self.started_at, datetime.UTC)
        parts = [
            "smtp transaction",
            f"time={when.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}",
            f"client={self.client_ip}",
            f"tls={self.tls}",
            f"size={self.size}",
            f"mailboxes={','.join(self.mailboxes) or '-'}",
            f"messages={','.join(self.message_ids) or '-'}",
            f"journal={self.journal}",
            f"result={self.result.replace(' ', '_') or '-'}",
            f"duration={time.monotonic() - self.started:.3f}s",
        ]
        if self.rejected:
            codes = ",".join(code.replace(" ", "_") for _, code in self.rejected)
            parts.append(f"rejected={codes}")
        if log_addresses:
            parts.append(f"from=<{self.sender}>")
            to = [a for addresses in self.recipients.values() for a in addresses]
            parts.append(f"to={','.join(f'<{a}>' for a in to) or '-'}")
            if self.rejected:
                parts.append(f"refused={','.join(f'<{a}>' for a, _ in self.rejected)}")
        return " ".join(parts)
