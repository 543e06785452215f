"""Integrity check of a store without any passphrase: index rows against message files.

Checked for every index row: the file exists, its SHA-256 equals the recorded one, its
age header parses and its bind stanza names exactly this mailbox, message, epoch and
encoding (a file moved to another mailbox or swapped with another message fails here
even if someone also edited the checksum). The header MAC and the payload need the
mailbox key, so they are not checked; the checksum covers them byte for byte.
Also found: files with no row (orphans), stale temporary files, wrong mailbox counters.

Repair (`repair=True`):
- damaged file: moved to DATA/quarantine/ (kept for forensics), then its row removed;
- missing file: its row removed (the message cannot be served any more);
- orphan: handled exactly like start-up reconciliation — adopted when its header and
  bind stanza are valid and its mailbox and epoch exist, quarantined otherwise. An
  orphan is a file whose commit did not happen, so its sender got no 250 and has
  probably retried; adopting it risks a duplicate, quarantining a valid one would hide
  mail from its owner. A duplicate is the smaller harm (same rule as DESIGN §3);
- mailbox counters (message_count, stored_bytes) and next_uid recomputed;
- paths under DATA that group or others may use (files at rest must be 0600,
  directories 0700): reported as warnings, tightened on repair.
Every repair is written to the audit log (actor "fsck"; paths and ids only).

fsck may run while the gateway serves: a file renamed into place but not yet committed
looks like an orphan for a moment, and a message being deleted loses its row before its
file. So an orphan counts only when older than `grace` seconds and still without a row
when looked at again, and a missing file only when its row still exists afterwards.
With message files in S3 the grace is at least the store's orphan grace (longer than
an SMTP transaction), since another node may be delivering.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..bind import BindError, Binding
from ..contract import Store
from ..contract.maintenance import CounterFix, StoredMessage
from ..file_modes import LooseMode
from ..message_file import read_file_binding

log = logging.getLogger("storage.fsck")

ACTOR = "fsck"
ORPHAN_GRACE_SECONDS = 900.0
HEADER_LIMIT = 1 << 20  # age headers are a few KiB
READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    kind: str  # "missing", "damaged", "orphan"
    path: str
    reason: str
    message_id: str = ""
    mailbox_id: str = ""


@dataclass
class FsckReport:
    checked: int = 0
    missing: list[Problem] = field(default_factory=list)
    damaged: list[Problem] = field(default_factory=list)
    orphans: list[Problem] = field(default_factory=list)
    counters: list[CounterFix] = field(default_factory=list)
    stale_temp: list[str] = field(default_factory=list)
    repaired: bool = False
    quarantined: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    rows_removed: list[str] = field(default_factory=list)
    loose_modes: list[LooseMode] = field(default_factory=list)  # warnings, not problems
    tightened: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.missing or self.damaged or self.orphans or self.counters or self.stale_temp
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "missing": [p.__dict__ for p in self.missing],
            "damaged": [p.__dict__ for p in self.damaged],
            "orphans": [p.__dict__ for p in self.orphans],
            "counters": [c.__dict__ for c in self.counters],
            "stale_temp": self.stale_temp,
            "repaired": self.repaired,
            "quarantined": self.quarantined,
            "adopted": self.adopted,
            "rows_removed": self.rows_removed,
            "loose_modes": [loose.as_dict() for loose in self.loose_modes],
            "tightened": self.tightened,
        }


def fsck(
    store: Store,
    repair: bool = False,
    grace: float = ORPHAN_GRACE_SECONDS,
    now: float | None = None,
) -> FsckReport:
    """Check (and with `repair`, fix) the store; see the module docstring."""
    now = time.time() if now is None else now
    report = FsckReport()
    _check_rows(store, report)
    # A shared object store dates a multipart object by when its upload began: what is
    # younger than its orphan grace may be another node's delivery about to commit.
    grace = max(grace, store.maintenance.orphan_grace)
    _find_orphans(store, report, now - grace)
    report.stale_temp = store.maintenance.stale_temp_files(now - grace)
    report.loose_modes = store.maintenance.loose_file_modes()
    if repair:
        _repair_files(store, report)
        _tighten_modes(store, report)
    _check_counters(store, report, fix=repair)
    report.repaired = repair
    log.info(
        "fsck: %d rows checked, %d missing, %d damaged, %d orphans, %d counter fixes,"
        " %d paths open to group or others%s",
        report.checked,
        len(report.missing),
        len(report.damaged),
        len(report.orphans),
        len(report.counters),
        len(report.loose_modes),
        " (repaired)" if repair else "",
    )
    return report


def _check_rows(store: Store, report: FsckReport) -> None:
    for row in store.maintenance.stored_messages():
        report.checked += 1
        reason = _file_fault(store, row)
        if reason is None:
            continue
        problem = Problem(
            "missing" if reason == "file is missing" else "damaged",
            row.path,
            reason,
            row.id,
            row.mailbox_id,
        )
        if not store.maintenance.is_indexed(row.id):
            continue  # deleted while we looked: not a problem
        (report.missing if problem.kind == "missing" else report.damaged).append(problem)


def _file_fault(store: Store, row: StoredMessage) -> str | None:
    try:
        with store.maintenance.open_stored_file(row.path) as fh:
            head = fh.read(HEADER_LIMIT)  # a damaged file may never end its header
            hasher = hashlib.sha256(head)
            while chunk := fh.read(READ_CHUNK):
                hasher.update(chunk)
            digest = hasher.hexdigest()
            binding = read_file_binding(io.BytesIO(head))
    except FileNotFoundError:
        return "file is missing"
    except BindError as exc:
        return f"header does not parse: {exc}"
    except OSError as exc:
        return f"file is unreadable: {exc.strerror}"
    if digest != row.sha256:
        return "SHA-256 differs from the index"
    expected = Binding(row.mailbox_id, row.id, row.epoch, row.encoding)
    if binding != expected:
        return "bind stanza names another mailbox, message, epoch or encoding"
    return None


def _find_orphans(store: Store, report: FsckReport, older_than: float) -> None:
    maintenance = store.maintenance
    for relpath in maintenance.stored_files():
        if maintenance.path_is_indexed(relpath):
            continue
        try:
            if maintenance.stored_file_mtime(relpath) > older_than:
                continue  # may be a delivery about to commit
        except FileNotFoundError:
            continue
        if maintenance.path_is_indexed(relpath) or maintenance.is_reserved(relpath):
            continue  # indexed meanwhile, or a delivery in progress on some node
        report.orphans.append(Problem("orphan", relpath, "file has no index row"))


def _repair_files(store: Store, report: FsckReport) -> None:
    for problem in report.damaged:
        try:
            report.quarantined.append(store.maintenance.quarantine(problem.path))
        except FileNotFoundError:
            pass
        _remove_row(store, problem, report)
    for problem in report.missing:
        _remove_row(store, problem, report)
    for problem in report.orphans:
        if not store.maintenance.claim_orphan(problem.path):
            continue  # a live delivery holds it (reservations.py): not an orphan
        if store.maintenance.adopt_orphan(problem.path):
            report.adopted.append(problem.path)
            store.audit.record(ACTOR, "fsck.adopt", problem.path, "valid orphan adopted")
        else:
            report.quarantined.append(store.maintenance.quarantine(problem.path))
            store.audit.record(ACTOR, "fsck.quarantine", problem.path, "invalid orphan")
    for relpath in report.stale_temp:
        store.maintenance.remove_stale_temp(relpath)


def _tighten_modes(store: Store, report: FsckReport) -> None:
    for loose in store.maintenance.tighten_modes(report.loose_modes):
        report.tightened.append(loose.path)
        store.audit.record(
            ACTOR, "fsck.tighten-mode", loose.path, f"{loose.mode:04o} -> {loose.wanted:04o}"
        )


def _remove_row(store: Store, problem: Problem, report: FsckReport) -> None:
    if problem.kind == "damaged":
        store.audit.record(ACTOR, "fsck.quarantine", problem.path, problem.reason)
    store.messages.delete(problem.mailbox_id, [problem.message_id])
    store.audit.record(
        ACTOR, "fsck.remove-row", problem.message_id, f"{problem.kind}: {problem.reason}"
    )
    report.rows_removed.append(problem.message_id)


def _check_counters(store: Store, report: FsckReport, fix: bool) -> None:
    """The store reads the counters in one committed state, in which a delivery has
    updated both the row and the counters, so concurrent mail cannot look like drift;
    it fixes them inside one write transaction for the same reason."""
    if not fix:
        report.counters.extend(store.maintenance.counter_drift())
        return
    drift = store.maintenance.repair_counters()
    report.counters.extend(drift)
    for item in drift:
        detail = f"{item.field} {item.recorded} -> {item.actual}"
        store.audit.record(ACTOR, "fsck.fix-counter", item.mailbox_id, detail)
