"""Restore a backup (see backup.py) into an empty or new data directory.

Nothing is trusted before it is checked: the manifest's format and schema version, the
SHA-256 of the index copy and of every small file (manifest), and of every message file
(the index copy). Paths from the backup are confined to the layout (no `..`, no
absolute paths). Everything is written under DATA/.restore-partial first, fsynced, and
only then renamed into place, the marker file last; on any failure the partial copy is
removed and DATA is left empty. Renames inside DATA (not a rename of DATA itself) keep
this working when DATA is a mount point, e.g. a Docker volume. DATA and everything in
it is made private (directories 0700, files 0600).

TOTP secrets in the index are sealed with the gateway's seal key, which a backup holds
only when made with --include-secrets. Otherwise the key is given to restore
(`seal_key`), checked against the index before anything is put in place, and written
to DATA/secrets/seal.key; or the restored gateway gets it from its configuration.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..blobs import fsync_dir
from ..file_modes import DIR_MODE
from ..sealing import DEFAULT_KEY_FILE, Sealer, write_new_key_file
from ..sqlite.schema import SCHEMA_VERSION
from ..sqlite.snapshot import index_copy_files, index_copy_problem, index_copy_seal_state
from .backup import EXTRA_DIRS, FORMAT, INDEX, MANIFEST, MARKER, BackupError
from .files import (
    copy_durably,
    is_empty_or_missing,
    make_dirs_durably,
    remove_tree,
    sha256_file,
)
from .migrate import MigrateReport, Progress, migrate

log = logging.getLogger("storage.restore")

STAGING = ".restore-partial"
SEAL_KEY_FILE = DEFAULT_KEY_FILE.as_posix()


@dataclass
class RestoreReport:
    data_dir: str
    messages: int = 0
    blob_bytes: int = 0
    files: int = 0
    missing: list[str] = field(default_factory=list)  # already missing when backed up
    damaged: list[str] = field(default_factory=list)  # already damaged when backed up
    manifest: dict[str, Any] = field(default_factory=dict)
    sealed_secrets: int = 0  # TOTP secrets sealed in the index
    seal_key: str = ""  # "backup", "given", or "" (not restored: configure it)


def restore(src: str | Path, data_dir: str | Path, seal_key: bytes | None = None) -> RestoreReport:
    """Verify the backup in `src` and copy it into `data_dir` (which must be empty).

    `seal_key`: the seal key of the backed-up gateway, for a backup without secrets/.
    """
    src, data_dir = Path(src), Path(data_dir)
    manifest = read_manifest(src)
    if not is_empty_or_missing(data_dir):
        raise BackupError(f"{data_dir} is not empty; restore only into a new or empty directory")
    if seal_key is not None and SEAL_KEY_FILE in manifest["files"]:
        raise BackupError(
            f"this backup holds its own seal key ({SEAL_KEY_FILE}): restore it without one"
        )
    make_dirs_durably(data_dir)
    os.chmod(data_dir, DIR_MODE)  # also when it existed (empty) with a wider mode
    staging = data_dir / STAGING
    staging.mkdir(mode=DIR_MODE)
    report = RestoreReport(str(data_dir), manifest=manifest)
    try:
        _restore_index(src, staging, manifest)
        _restore_seal_key(staging, manifest, seal_key, report)
        _restore_blobs(src, staging, manifest, report)
        _restore_small_files(src, staging, manifest, report)
        _publish(staging, data_dir)
    except BaseException:
        remove_tree(staging)
        raise
    log.info("restored %d messages from %s into %s", report.messages, src, data_dir)
    return report


def restore_into_store(
    src: str | Path, store: Any, progress: Progress | None = None
) -> MigrateReport:
    """Restore the backup in `src` into `store`, a PostgreSQL index that must be empty
    (with its configured blobs): the backup's index copy is checked against the manifest,
    then copied as a migration does (every message file checked by SHA-256 on the way
    in and read back once stored; no index row until all of them are)."""
    src = Path(src)
    manifest = read_manifest(src)
    try:
        digest = sha256_file(src / INDEX)
    except FileNotFoundError:
        raise BackupError(f"backup is incomplete: {INDEX} is missing") from None
    if digest != manifest["files"][INDEX]:
        raise BackupError(f"backup is damaged or was altered: {INDEX} fails its SHA-256")
    report = migrate(src, store, progress, require_empty=True)
    log.info("restored %d messages from %s into the configured index", report.messages, src)
    return report


def read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{src} has no {MANIFEST}: not a (finished) backup") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} is unreadable: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Journal Gateway backup manifest")
    if not isinstance(manifest.get("files"), dict) or INDEX not in manifest["files"]:
        raise BackupError(f"{path} does not list the index")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise BackupError(
            f"backup schema version {version} is newer than this software's ({SCHEMA_VERSION})"
        )
    for relpath in manifest["files"]:
        _safe(relpath, allowed=(INDEX, MARKER, *(f"{d}/" for d in EXTRA_DIRS)))
    return manifest


def _safe(relpath: str, allowed: tuple[str, ...]) -> str:
    """Refuse a path that could leave the data directory or is not part of the layout."""
    parts = PurePosixPath(relpath).parts
    if (
        not parts
        or relpath.startswith("/")
        or any(p in ("..", ".", "") for p in parts)
        or not any(relpath == a or (a.endswith("/") and relpath.startswith(a)) for a in allowed)
    ):
        raise BackupError(f"backup names an unexpected path: {relpath!r}")
    return relpath


def _copy_checked(src: Path, staging: Path, relpath: str, expected: str | None) -> int:
    """Copy one file from the backup; its SHA-256 must be `expected` (None: not checked)."""
    target = staging / relpath
    make_dirs_durably(target.parent)
    try:
        digest, size = copy_durably(src / relpath, target)
    except FileNotFoundError:
        raise BackupError(f"backup is incomplete: {relpath} is missing") from None
    if expected is not None and digest != expected:
        raise BackupError(f"backup is damaged or was altered: {relpath} fails its SHA-256")
    return size


def _restore_index(src: Path, staging: Path, manifest: dict[str, Any]) -> None:
    _copy_checked(src, staging, INDEX, manifest["files"][INDEX])
    problem = index_copy_problem(staging / INDEX)
    if problem is not None:
        raise BackupError(f"{INDEX} in the backup {problem}")


def _restore_seal_key(
    staging: Path, manifest: dict[str, Any], seal_key: bytes | None, report: RestoreReport
) -> None:
    """Check a given seal key against the index copy, and put it in secrets/."""
    sealer = Sealer(seal_key, "the seal key given") if seal_key is not None else None
    report.sealed_secrets, matches = index_copy_seal_state(staging / INDEX, sealer)
    if SEAL_KEY_FILE in manifest["files"]:
        report.seal_key = "backup"
    if seal_key is None:
        return
    if matches is False and report.sealed_secrets:
        raise BackupError(
            "the seal key given is not the one this backup's TOTP secrets were sealed with"
        )
    write_new_key_file(staging / SEAL_KEY_FILE, seal_key)
    report.seal_key = "given"


def _restore_blobs(
    src: Path, staging: Path, manifest: dict[str, Any], report: RestoreReport
) -> None:
    missing, damaged = set(manifest.get("missing", [])), set(manifest.get("damaged", []))
    directories: set[Path] = set()
    for relpath, sha256 in index_copy_files(staging / INDEX):
        _safe(relpath, allowed=("blobs/",))
        report.messages += 1
        if relpath in missing:
            report.missing.append(relpath)
            continue
        expected: str | None = sha256
        if relpath in damaged:  # restored as it was, for fsck to report
            report.damaged.append(relpath)
            expected = None
        report.blob_bytes += _copy_checked(src, staging, relpath, expected)
        directories.add((staging / relpath).parent)
    if report.messages != manifest.get("messages"):
        raise BackupError("backup is inconsistent: its index and manifest count different mail")
    for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(directory)


def _restore_small_files(
    src: Path, staging: Path, manifest: dict[str, Any], report: RestoreReport
) -> None:
    for relpath, expected in sorted(manifest["files"].items()):
        if relpath != INDEX:
            _copy_checked(src, staging, relpath, expected)
            fsync_dir((staging / relpath).parent)
        report.files += 1
    make_dirs_durably(staging / "blobs")


def _publish(staging: Path, data_dir: Path) -> None:
    """Rename the verified entries into DATA, the marker last; then drop the staging dir."""
    fsync_dir(staging)
    names = sorted(p.name for p in staging.iterdir() if p.name != MARKER)
    if (staging / MARKER).exists():
        names.append(MARKER)
    for name in names:
        os.replace(staging / name, data_dir / name)
    fsync_dir(data_dir)
    staging.rmdir()
    fsync_dir(data_dir)
