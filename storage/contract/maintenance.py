"""Maintenance: start-up reconciliation, readiness, and the hooks that backup, fsck and
retention (storage/maintenance/) use, so that they talk only to this contract."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from ..file_modes import LooseMode


@dataclass
class ReconcileReport:
    temp_removed: int = 0
    adopted: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredMessage:
    """A message's index row as fsck checks it against its file."""

    id: str
    mailbox_id: str
    epoch: int
    encoding: str
    path: str
    sha256: str


@dataclass(frozen=True)
class CounterFix:
    mailbox_id: str
    field: str
    recorded: int
    actual: int


@dataclass(frozen=True)
class RetentionCandidate:
    message_id: str
    seen: bool
    received: float
    seen_at: float | None  # when \\Seen was first recorded; None if not yet


class IndexSnapshot(Protocol):
    """One committed state of the index, copied into a backup."""

    path: Path
    origin: str  # the kind of index it was taken of: "sqlite" or "postgresql"

    def schema_version(self) -> int: ...

    def message_files(self) -> Iterator[tuple[str, str, str]]:
        """(message id, relative path, SHA-256) of every message in the snapshot."""
        ...

    def drop_messages(self, message_ids: list[str]) -> None:
        """Remove those messages from the snapshot, with their mailboxes' counters."""
        ...

    def counts(self) -> tuple[int, int]:
        """(mailboxes, messages) in the snapshot."""
        ...

    def close(self) -> None: ...


class Maintenance(Protocol):
    data_dir: Path

    @property
    def orphan_grace(self) -> float:
        """Seconds a message file without an index row must have existed before it may
        be adopted or quarantined: 0 when nothing else can be delivering (files at
        start-up); longer than any delivery for a store shared by nodes (S3)."""
        ...

    def reconcile(self) -> ReconcileReport:
        """At start-up: remove temp files; adopt each file without an index row that is a
        valid message of an existing mailbox and epoch (its sender got no 250 and may
        retry: a duplicate is possible, a loss is not), quarantine the others; report
        rows whose file is missing. Never deletes a committed message. Temp files and
        orphans younger than the blob store's graces are left alone, so it is safe
        while other nodes deliver to a shared store."""
        ...

    def adopt_orphan(self, relpath: str) -> bool:
        """Index one orphan file if it is valid (as reconcile); False, untouched, if not."""
        ...

    def check_writable(self) -> None:
        """Raise unless a write transaction commits and a file can be created (readiness)."""
        ...

    def free_bytes(self) -> int:
        """Free bytes where messages are stored (disk reserve, metrics)."""
        ...

    def loose_file_modes(self) -> list[LooseMode]:
        """Paths at rest that group or others may use (files must be 0600, dirs 0700)."""
        ...

    def tighten_modes(self, loose: list[LooseMode]) -> list[LooseMode]:
        """Make those paths private; returns the ones changed."""
        ...

    def stored_messages(self) -> Iterator[StoredMessage]:
        """Every message row, in id order, read in batches (no long read transaction)."""
        ...

    def is_indexed(self, message_id: str) -> bool: ...

    def path_is_indexed(self, relpath: str) -> bool: ...

    def is_reserved(self, relpath: str) -> bool:
        """A delivery in progress (on any node) holds a live reservation of this blob's
        message id: not an orphan, whatever its age (storage/sqlite/reservations.py)."""
        ...

    def claim_orphan(self, relpath: str) -> bool:
        """Before adopting or quarantining a blob without a row: False if a live
        reservation holds it (leave it alone); else True, an expired reservation now
        claimed, so its delivery can no longer commit."""
        ...

    def stored_files(self) -> Iterator[str]:
        """Relative paths of every message file present, indexed or not."""
        ...

    def open_stored_file(self, relpath: str) -> BinaryIO:
        """FileNotFoundError when it is gone."""
        ...

    def stored_file_mtime(self, relpath: str) -> float:
        """FileNotFoundError when it is gone."""
        ...

    def quarantine(self, relpath: str) -> str:
        """Move a file out of the store (kept for forensics); returns where it went."""
        ...

    def stale_temp_files(self, older_than: float) -> list[str]:
        """Unfinished delivery files last changed at or before `older_than`."""
        ...

    def remove_stale_temp(self, relpath: str) -> None: ...

    def counter_drift(self) -> list[CounterFix]:
        """Mailbox counters that differ from their messages, seen in one committed state
        (concurrent mail never looks like drift)."""
        ...

    def repair_counters(self) -> list[CounterFix]:
        """Recompute the drifting counters in one write transaction; returns the drift."""
        ...

    def snapshot_index(self, target: Path) -> IndexSnapshot:
        """Copy the index as one committed state to `target` while writers keep going."""
        ...

    def seen_times(self, mailbox_id: str) -> dict[str, float]:
        """message id → when its \\Seen flag was first recorded (those that have one)."""
        ...

    def retention_candidates(self, mailbox_id: str) -> list[RetentionCandidate]:
        """Every message of the mailbox with what retention rules look at, in UID order."""
        ...

    def record_seen_times(self, message_ids: list[str], when: float) -> None:
        """Record `when` as the first-seen time of those messages that have none."""
        ...
