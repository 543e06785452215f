"""`gateway storage migrate`: copy a SQLite + files gateway into another store: a
PostgreSQL index (or another SQLite one), with files or S3 blobs.

What is copied, and how
-----------------------
The source is a data directory (DATA of a SQLite gateway, or a backup directory: the
same layout). Its index is read from a snapshot (SQLite's online backup API: one
committed state, delivery at the source goes on). Then, in this order:

1. Every message file the snapshot lists goes to the target's blob store (files or an
   S3 bucket) as the same bytes under the same path: the age file is never decrypted,
   so no passphrase is needed. While it is read its SHA-256 is compared with the index.
2. Every uploaded object is read back from the target and its SHA-256 compared again
   (so a damaged upload is caught, not trusted). A bad object is removed again.
3. Only if every object verified: one transaction in the target index makes every
   copied table hold exactly the snapshot's rows (same ids, uids, flags, sealed keys,
   admins, tokens, sessions, audit, relays, sources, robots...): rows are inserted or
   updated by primary key and rows the source no longer has are deleted. Objects of
   messages deleted that way are removed after the commit.
4. The row counts of every table are compared with the snapshot's.

So the target never lists a message whose object is not there and verified, and a
failed run changes no index row. Run again, it skips messages whose row is already
committed with the same SHA-256 and whose object is there, re-checks leftover objects
of an interrupted run by reading them back, and uploads the rest.

While mail arrives
------------------
A run against a live source copies the state of its snapshot; mail that arrives
later is copied by the next run. The cut-over is therefore: run once while the old
gateway serves (the long bulk copy), stop the old gateway, run again (only what changed
since: usually seconds to minutes; sending MTAs queue and retry meanwhile, as for any
restart), then start the nodes on the target. A message deleted at the source during a
run (its file gone, its row gone from the live index) is left out of that run.

The target index must be empty or filled by earlier runs from the same source
(recorded in its `meta` table); its nodes should not serve until the cut-over. The
target must use the source's seal key (secrets.seal_key_file): TOTP secrets, source
credentials and keyed digests in the index are sealed under it.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contract.blobs import Blobs
from ..errors import StoreError
from ..sqlite.sealed import seal_state
from ..sqlite.snapshot import SqliteIndexSnapshot, index_copy_problem
from ..sqlite.table_io import (
    LiveIndex,
    SqliteTableWriter,
    message_objects,
    table_columns,
    table_count,
    table_rows,
)
from .tables import COPIED_TABLES

log = logging.getLogger("storage.migrate")

CHUNK = 1 << 20
SOURCE_KEY = "migrated_from"
INDEX = "gateway.db"


class MigrateError(StoreError):
    """The migration cannot start, or did not finish (nothing was marked as done)."""


@dataclass
class MigrateReport:
    source: str
    messages: int = 0  # messages in the source snapshot, all in the target now
    uploaded: int = 0  # objects copied in this run
    skipped: int = 0  # already in the target and verified
    verified_bytes: int = 0
    removed: int = 0  # messages the source no longer has, removed from the target
    left_out: list[str] = field(default_factory=list)  # deleted at the source meanwhile
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "messages": self.messages,
            "uploaded": self.uploaded,
            "skipped": self.skipped,
            "verified_bytes": self.verified_bytes,
            "removed": self.removed,
            "deleted_during_migration": self.left_out,
            "tables": self.tables,
            "seconds": round(self.seconds, 3),
        }


Progress = Callable[[str, int, int], None]  # (phase, done, total)


def migrate(
    source_dir: str | Path,
    target: Any,
    progress: Progress | None = None,
    *,
    require_empty: bool = False,
) -> MigrateReport:
    """Copy the gateway in `source_dir` into the store `target` (PostgreSQL index);
    `require_empty`: refuse a target that holds anything, even from this source.

    `progress(phase, done, total)` is called as the phases go: "snapshot", "upload",
    "uploaded" (every object is up, none verified yet), "verify", "index", "done".
    """
    progress = progress or (lambda phase, done, total: None)
    source = Path(source_dir).resolve()
    writer = _table_writer(target)
    started = time.monotonic()
    report = MigrateReport(str(source))
    try:
        with tempfile.TemporaryDirectory(dir=target.data_dir, prefix=".migrate-") as work:
            snapshot = _take_snapshot(source, Path(work) / INDEX)
            progress("snapshot", 1, 1)
            try:
                _run(source, snapshot, target, writer, report, progress, require_empty)
            finally:
                snapshot.close()
    finally:
        writer.close()
    report.seconds = time.monotonic() - started
    progress("done", report.messages, report.messages)
    log.info(
        "migrated %s: %d messages (%d uploaded, %d already there), %d removed",
        source,
        report.messages,
        report.uploaded,
        report.skipped,
        report.removed,
    )
    return report


def _run(
    source: Path,
    snapshot: SqliteIndexSnapshot,
    target: Any,
    writer: Any,
    report: MigrateReport,
    progress: Progress,
    require_empty: bool,
) -> None:
    """Objects up and verified, then the index in one transaction, then the counts."""
    conn = sqlite3.connect(snapshot.path)
    try:
        with writer.reading():
            _check_target(writer, conn, target, source, require_empty)
            uploaded = _copy_objects(source, conn, target.blobs, writer, report, progress)
        _verify_objects(target.blobs, uploaded, report, progress)
        if report.left_out:
            snapshot.drop_messages(report.left_out)
        removed = _write_index(writer, conn, source)
        progress("index", 1, 1)
        _remove_objects(target.blobs, removed)
        report.removed = len(removed)
        with writer.reading():
            _compare_counts(writer, conn, report)
    finally:
        conn.close()


def _table_writer(target: Any) -> Any:
    """The writer for the target's index: PostgreSQL, or SQLite (e.g. into S3 blobs)."""
    from ..sqlite.store import SqliteStore

    if isinstance(target, SqliteStore):
        return SqliteTableWriter(target.db.path)
    from ..postgres.table_io import PgTableWriter  # psycopg only when it is used

    return PgTableWriter(target.db)


def _take_snapshot(source: Path, copy: Path) -> SqliteIndexSnapshot:
    index = source / INDEX
    if not index.is_file():
        raise MigrateError(f"{source} holds no {INDEX}: not a SQLite gateway's data directory")
    try:
        snapshot = SqliteIndexSnapshot.take(index, copy)
    except sqlite3.Error as exc:
        raise MigrateError(f"cannot read {index}: {exc}") from None
    problem = index_copy_problem(copy)
    if problem is not None:
        snapshot.close()
        raise MigrateError(f"{index} {problem}")
    return snapshot


def _check_target(
    writer: Any, conn: sqlite3.Connection, target: Any, source: Path, require_empty: bool
) -> None:
    """Refuse a target that holds another gateway's data, lacks a column, or has a seal
    key other than the one the source's secrets are sealed with."""
    origin = writer.meta(SOURCE_KEY)
    if require_empty and (origin is not None or writer.count("mailboxes") > 0):
        raise MigrateError("the target index is not empty: restore into an empty database")
    if origin is None and writer.count("mailboxes") + writer.count("admins") > 0:
        raise MigrateError(
            "the target index already holds mailboxes or admins that were not migrated"
            " from this source: migrate into an empty database"
        )
    if origin is not None and origin != str(source):
        raise MigrateError(
            f"the target index was migrated from {origin}, not {source}: migrate into an"
            " empty database"
        )
    for table in COPIED_TABLES:
        missing = set(table_columns(conn, table.name)) - set(writer.columns(table.name))
        if missing:
            raise MigrateError(
                f"the target index lacks {table.name}.{sorted(missing)[0]}: upgrade the"
                " gateway that serves it first"
            )
    # Nothing sealed: another key only costs keyed digests (relay tags, robot replies).
    sealed, matches = seal_state(conn, getattr(target.sealing, "sealer", None))
    if sealed and matches is not True:
        raise MigrateError(
            "the target's seal key is not the source's: set secrets.seal_key_file to a copy"
            f" of {source}/secrets/seal.key (or the source's configured key) on the target"
        )


def _copy_objects(
    source: Path,
    conn: sqlite3.Connection,
    blobs: Blobs,
    writer: Any,
    report: MigrateReport,
    progress: Progress,
) -> list[tuple[str, str, int]]:
    """Upload what the target lacks; (path, SHA-256, size) of the objects to verify."""
    committed = writer.message_digests()
    messages = message_objects(conn)
    live = LiveIndex(source / INDEX)
    to_verify: list[tuple[str, str, int]] = []
    try:
        for done, (message_id, relpath, sha256, size) in enumerate(messages, 1):
            progress("upload", done, len(messages))
            if committed.get(message_id) == sha256 and _present(blobs, relpath, size):
                report.skipped += 1
                continue
            if _present(blobs, relpath, None):  # left by an interrupted run
                to_verify.append((relpath, sha256, size))
                continue
            try:
                _upload(source, blobs, message_id, relpath, sha256)
            except FileNotFoundError:
                if live.is_indexed(message_id):
                    raise MigrateError(
                        f"{relpath} is missing in the source: run gateway fsck there"
                    ) from None
                report.left_out.append(message_id)
                continue
            report.uploaded += 1
            to_verify.append((relpath, sha256, size))
    finally:
        live.close()
    report.messages = len(messages) - len(report.left_out)
    progress("uploaded", len(to_verify), len(to_verify))
    return to_verify


def _present(blobs: Blobs, relpath: str, size: int | None) -> bool:
    try:
        stat = blobs.stat(relpath)
    except FileNotFoundError:
        return False
    return size is None or stat.size == size


def _upload(source: Path, blobs: Blobs, message_id: str, relpath: str, sha256: str) -> None:
    """Stream one message file into the blob store; its bytes must match the index."""
    digest = hashlib.sha256()
    temp = blobs.new_temp(message_id, relpath)
    try:
        with open(source / relpath, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                temp.write(chunk)
        if digest.hexdigest() != sha256:
            raise MigrateError(
                f"{relpath} in the source does not match its SHA-256 in the index (damaged):"
                " run gateway fsck there"
            )
        temp.close_durably()
        handle = blobs.publish(temp, relpath)
    except BaseException:
        temp.discard()
        raise
    blobs.make_durable([handle])


def _verify_objects(
    blobs: Blobs, objects: list[tuple[str, str, int]], report: MigrateReport, progress: Progress
) -> None:
    """Read every object back from the target; remove and report those that differ."""
    bad: list[str] = []
    for done, (relpath, sha256, size) in enumerate(objects, 1):
        progress("verify", done, len(objects))
        digest, length = hashlib.sha256(), 0
        try:
            with blobs.open(relpath) as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    length += len(chunk)
        except FileNotFoundError:
            bad.append(relpath)
            continue
        if digest.hexdigest() != sha256 or length != size:
            log.warning("migrate: %s read back from the target differs; removed", relpath)
            blobs.remove(relpath)
            bad.append(relpath)
            continue
        report.verified_bytes += length
    if bad:
        raise MigrateError(
            f"{len(bad)} object(s) read back from the target do not match their SHA-256"
            f" (first: {bad[0]}); they were removed and no index row was written: run the"
            " migration again"
        )


def _write_index(writer: Any, conn: sqlite3.Connection, source: Path) -> list[str]:
    """Mirror every copied table in one transaction; paths of messages removed."""
    removed: list[str] = []
    with writer.transaction():
        wanted = {table.name: set(_keys(conn, table.name, table.key)) for table in COPIED_TABLES}
        for table in reversed(COPIED_TABLES):  # children first
            gone = writer.keys(table) - wanted[table.name]
            if table.name == "messages" and gone:
                removed = writer.paths_of([key[0] for key in gone])
            writer.delete_keys(table, gone)
        for table in COPIED_TABLES:  # parents first
            columns = table_columns(conn, table.name)
            writer.upsert(table, columns, table_rows(conn, table.name, columns))
        writer.set_meta(SOURCE_KEY, str(source))
    return removed


def _keys(conn: sqlite3.Connection, table: str, key: tuple[str, ...]) -> list[tuple]:
    return [tuple(row) for row in table_rows(conn, table, key)]


def _remove_objects(blobs: Blobs, paths: list[str]) -> None:
    for relpath in paths:
        blobs.remove(relpath)


def _compare_counts(writer: Any, conn: sqlite3.Connection, report: MigrateReport) -> None:
    for table in COPIED_TABLES:
        expected, found = table_count(conn, table.name), writer.count(table.name)
        if expected != found:
            raise MigrateError(
                f"after the copy the target has {found} rows in {table.name}, the source"
                f" {expected}: was the target changed meanwhile? run the migration again"
            )
        report.tables[table.name] = found
