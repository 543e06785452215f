"""Per-mailbox retention rules, both off by default.

- `delete_retrieved_after_days` N: a message retrieved more than N days ago is deleted.
- `delete_unretrieved_after_days` N: a message never retrieved is kept at most N days
  after it was received, then deleted (an archiver that stopped fetching must not make
  the disk fill up forever).

"Retrieved" means the message's \\Seen flag is set. IMAP sets it when a client fetches
a body without .PEEK; POP3 RETR must set it too. The index records when \\Seen was
first set (table message_seen, filled by triggers, see storage/sqlite/schema.py);
clearing \\Seen clears that time. A message flagged \\Seen with no recorded time (seen
before this existed) gets the time of the first retention run that notices it, so no
message is ever deleted earlier than its rule says.

The rules live in the mailbox `settings` JSON under "retention". Deletion goes through
the store (row first, then file), is logged with counts and ids only, and audited.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..contract import Store
from ..errors import InvalidInput

log = logging.getLogger("storage.retention")

ACTOR = "retention"
SETTINGS_KEY = "retention"
RETRIEVED = "delete_retrieved_after_days"
UNRETRIEVED = "delete_unretrieved_after_days"
DAY = 86400.0
BATCH = 500


@dataclass(frozen=True)
class RetentionRules:
    retrieved_days: int = 0  # 0 = off
    unretrieved_days: int = 0  # 0 = off

    @property
    def active(self) -> bool:
        return bool(self.retrieved_days or self.unretrieved_days)

    def as_settings(self) -> dict[str, int]:
        return {RETRIEVED: self.retrieved_days, UNRETRIEVED: self.unretrieved_days}


@dataclass
class MailboxRetention:
    mailbox_id: str
    rules: RetentionRules
    retrieved: list[str] = field(default_factory=list)  # message ids deleted (or due)
    unretrieved: list[str] = field(default_factory=list)


@dataclass
class RetentionReport:
    now: float
    dry_run: bool
    mailboxes: list[MailboxRetention] = field(default_factory=list)

    @property
    def deleted(self) -> int:
        return sum(len(m.retrieved) + len(m.unretrieved) for m in self.mailboxes)


def rules_of(mailbox: Any) -> RetentionRules:
    raw = (mailbox.settings or {}).get(SETTINGS_KEY) or {}
    return RetentionRules(int(raw.get(RETRIEVED, 0) or 0), int(raw.get(UNRETRIEVED, 0) or 0))


def set_rules(
    store: Store,
    ref: str,
    retrieved_days: int | None = None,
    unretrieved_days: int | None = None,
) -> RetentionRules:
    """Change one or both rules (None keeps, 0 turns off); other settings are kept."""
    mailbox = store.mailboxes.get(ref)
    current = rules_of(mailbox)
    for value in (retrieved_days, unretrieved_days):
        if value is not None and (type(value) is not int or value < 0):
            raise InvalidInput("retention days must be 0 (off) or a positive whole number")
    new = RetentionRules(
        current.retrieved_days if retrieved_days is None else retrieved_days,
        current.unretrieved_days if unretrieved_days is None else unretrieved_days,
    )
    settings = dict(mailbox.settings or {})
    if new.active:
        settings[SETTINGS_KEY] = new.as_settings()
    else:
        settings.pop(SETTINGS_KEY, None)
    store.mailboxes.update(mailbox.id, settings=settings)
    return new


def retrieved_times(store: Store, mailbox_id: str) -> dict[str, float]:
    """message id → when its \\Seen flag was first set (only messages that have one)."""
    return store.maintenance.seen_times(mailbox_id)


def apply_retention(
    store: Store, now: float | None = None, dry_run: bool = False
) -> RetentionReport:
    """Apply every mailbox's rules at time `now` (tests pass a fake clock)."""
    now = time.time() if now is None else now
    report = RetentionReport(now, dry_run)
    for mailbox in store.mailboxes.list():
        rules = rules_of(mailbox)
        if not rules.active:
            continue
        result = _due(store, mailbox.id, rules, now, backfill=not dry_run)
        report.mailboxes.append(result)
        if not dry_run and (result.retrieved or result.unretrieved):
            _delete(store, result)
    return report


def _due(
    store: Store, mailbox_id: str, rules: RetentionRules, now: float, backfill: bool
) -> MailboxRetention:
    result = MailboxRetention(mailbox_id, rules)
    unknown: list[str] = []
    retrieved_cut = now - rules.retrieved_days * DAY
    unretrieved_cut = now - rules.unretrieved_days * DAY
    for message in store.maintenance.retention_candidates(mailbox_id):
        if message.seen and message.seen_at is None:
            unknown.append(message.message_id)
        elif message.seen and message.seen_at is not None:
            if rules.retrieved_days and message.seen_at <= retrieved_cut:
                result.retrieved.append(message.message_id)
        elif rules.unretrieved_days and message.received <= unretrieved_cut:
            result.unretrieved.append(message.message_id)
    if backfill and unknown:
        store.maintenance.record_seen_times(unknown, now)
    return result


def _delete(store: Store, result: MailboxRetention) -> None:
    ids = result.retrieved + result.unretrieved
    for start in range(0, len(ids), BATCH):
        store.messages.delete(result.mailbox_id, ids[start : start + BATCH])
    parts = []
    if result.retrieved:
        parts.append(
            f"{len(result.retrieved)} retrieved more than {result.rules.retrieved_days} days ago"
        )
    if result.unretrieved:
        parts.append(
            f"{len(result.unretrieved)} unretrieved after {result.rules.unretrieved_days} days"
        )
    detail = "; ".join(parts)
    store.audit.record(ACTOR, "retention.delete", result.mailbox_id, detail)
    log.info("retention deleted from %s: %s", result.mailbox_id, detail)
