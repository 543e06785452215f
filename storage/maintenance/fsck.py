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
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bind import BindError, Binding
from ..blobs import TEMP_SUFFIX
from ..file_modes import LooseMode, find_loose_modes, tighten
from ..message_file import read_file_binding
from .files import sha256_file

log = logging.getLogger("storage.fsck")

ACTOR = "fsck"
ORPHAN_GRACE_SECONDS = 900.0
BATCH = 1000
HEADER_LIMIT = 1 << 20  # age headers are a few KiB


@dataclass(frozen=True)
class Problem:
    kind: str  # "missing", "damaged", "orphan"
    path: str
    reason: str
    message_id: str = ""
    mailbox_id: str = ""


@dataclass(frozen=True)
class CounterFix:
    mailbox_id: str
    field: str
    recorded: int
    actual: int


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
    store: Any, repair: bool = False, grace: float = ORPHAN_GRACE_SECONDS, now: float | None = None
) -> FsckReport:
    """Check (and with `repair`, fix) the store; see the module docstring."""
    now = time.time() if now is None else now
    report = FsckReport()
    _check_rows(store, report)
    _find_orphans(store, report, now - grace)
    _find_stale_temp(store, report, now - grace)
    report.loose_modes = find_loose_modes(store.data_dir)
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


def _row_batches(store: Any):
    """All message rows in id order, fetched in batches (no long read transaction)."""
    last = ""
    conn = store.db.conn()
    while True:
        batch = conn.execute(
            "SELECT id, mailbox_id, epoch, encoding, path, sha256 FROM messages"
            " WHERE id > ? ORDER BY id LIMIT ?",
            (last, BATCH),
        ).fetchall()
        if not batch:
            return
        yield from batch
        last = batch[-1]["id"]


def _check_rows(store: Any, report: FsckReport) -> None:
    for row in _row_batches(store):
        report.checked += 1
        reason = _file_fault(store, row)
        if reason is None:
            continue
        problem = Problem(
            "missing" if reason == "file is missing" else "damaged",
            row["path"],
            reason,
            row["id"],
            row["mailbox_id"],
        )
        if not _still_indexed(store, row["id"]):
            continue  # deleted while we looked: not a problem
        (report.missing if problem.kind == "missing" else report.damaged).append(problem)


def _file_fault(store: Any, row: Any) -> str | None:
    path = store.blobs.path(row["path"])
    try:
        digest = sha256_file(path)
        with open(path, "rb") as fh:  # a damaged file may never end its header
            binding = read_file_binding(io.BytesIO(fh.read(HEADER_LIMIT)))
    except FileNotFoundError:
        return "file is missing"
    except BindError as exc:
        return f"header does not parse: {exc}"
    except OSError as exc:
        return f"file is unreadable: {exc.strerror}"
    if digest != row["sha256"]:
        return "SHA-256 differs from the index"
    expected = Binding(row["mailbox_id"], row["id"], row["epoch"], row["encoding"])
    if binding != expected:
        return "bind stanza names another mailbox, message, epoch or encoding"
    return None


def _still_indexed(store: Any, message_id: str) -> bool:
    conn = store.db.conn()
    return conn.execute("SELECT 1 FROM messages WHERE id=?", (message_id,)).fetchone() is not None


def _find_orphans(store: Any, report: FsckReport, older_than: float) -> None:
    conn = store.db.conn()
    for relpath in store.blobs.iter_files():
        if conn.execute("SELECT 1 FROM messages WHERE path=?", (relpath,)).fetchone():
            continue
        try:
            if store.blobs.path(relpath).stat().st_mtime > older_than:
                continue  # may be a delivery about to commit
        except FileNotFoundError:
            continue
        if conn.execute("SELECT 1 FROM messages WHERE path=?", (relpath,)).fetchone():
            continue
        report.orphans.append(Problem("orphan", relpath, "file has no index row"))


def _find_stale_temp(store: Any, report: FsckReport, older_than: float) -> None:
    tmp: Path = store.blobs.tmp
    for path in sorted(tmp.glob(f"*{TEMP_SUFFIX}")):
        try:
            if path.stat().st_mtime <= older_than:
                report.stale_temp.append(path.relative_to(store.data_dir).as_posix())
        except FileNotFoundError:
            continue


def _repair_files(store: Any, report: FsckReport) -> None:
    for problem in report.damaged:
        try:
            report.quarantined.append(store.blobs.quarantine(problem.path))
        except FileNotFoundError:
            pass
        _remove_row(store, problem, report)
    for problem in report.missing:
        _remove_row(store, problem, report)
    for problem in report.orphans:
        if store._adopt(problem.path):
            report.adopted.append(problem.path)
            store.audit(ACTOR, "fsck.adopt", problem.path, "valid orphan adopted")
        else:
            report.quarantined.append(store.blobs.quarantine(problem.path))
            store.audit(ACTOR, "fsck.quarantine", problem.path, "invalid orphan")
    for relpath in report.stale_temp:
        (Path(store.data_dir) / relpath).unlink(missing_ok=True)


def _tighten_modes(store: Any, report: FsckReport) -> None:
    for loose in tighten(store.data_dir, report.loose_modes):
        report.tightened.append(loose.path)
        store.audit(
            ACTOR, "fsck.tighten-mode", loose.path, f"{loose.mode:04o} -> {loose.wanted:04o}"
        )


def _remove_row(store: Any, problem: Problem, report: FsckReport) -> None:
    if problem.kind == "damaged":
        store.audit(ACTOR, "fsck.quarantine", problem.path, problem.reason)
    store.delete_messages(problem.mailbox_id, [problem.message_id])
    store.audit(ACTOR, "fsck.remove-row", problem.message_id, f"{problem.kind}: {problem.reason}")
    report.rows_removed.append(problem.message_id)


_COUNTS = (
    "SELECT m.id, m.message_count, m.stored_bytes, m.next_uid,"
    " count(g.id) AS n, coalesce(sum(g.stored_size), 0) AS bytes, coalesce(max(g.uid), 0) AS uid"
    " FROM mailboxes m LEFT JOIN messages g ON g.mailbox_id = m.id GROUP BY m.id ORDER BY m.id"
)


def _check_counters(store: Any, report: FsckReport, fix: bool) -> None:
    """One SELECT sees one committed state, in which a delivery has updated both the row
    and the counters, so concurrent mail cannot look like drift. Fixing happens inside
    one write transaction for the same reason."""
    if not fix:
        report.counters.extend(_counter_drift(store.db.conn()))
        return
    with store.db.write() as conn:
        drift = _counter_drift(conn)
        for mailbox_id in sorted({d.mailbox_id for d in drift}):
            conn.execute(
                "UPDATE mailboxes SET"
                " message_count=(SELECT count(*) FROM messages WHERE mailbox_id=?),"
                " stored_bytes=(SELECT coalesce(sum(stored_size), 0) FROM messages"
                " WHERE mailbox_id=?),"
                " next_uid=max(next_uid, 1 + (SELECT coalesce(max(uid), 0) FROM messages"
                " WHERE mailbox_id=?)) WHERE id=?",
                (mailbox_id, mailbox_id, mailbox_id, mailbox_id),
            )
    report.counters.extend(drift)
    for item in drift:
        detail = f"{item.field} {item.recorded} -> {item.actual}"
        store.audit(ACTOR, "fsck.fix-counter", item.mailbox_id, detail)


def _counter_drift(conn: Any) -> list[CounterFix]:
    drift = []
    for row in conn.execute(_COUNTS).fetchall():
        if row["message_count"] != row["n"]:
            drift.append(CounterFix(row["id"], "message_count", row["message_count"], row["n"]))
        if row["stored_bytes"] != row["bytes"]:
            drift.append(CounterFix(row["id"], "stored_bytes", row["stored_bytes"], row["bytes"]))
        if row["next_uid"] <= row["uid"]:
            drift.append(CounterFix(row["id"], "next_uid", row["next_uid"], row["uid"] + 1))
    return drift
