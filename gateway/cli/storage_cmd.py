"""`gateway storage migrate --source DIR`: a SQLite + files gateway into the configured
index and blob store, e.g. PostgreSQL + S3 (the copying is storage/maintenance/migrate.py's)."""

from __future__ import annotations

from pathlib import Path

import click

from storage.maintenance import require_data_directory
from storage.maintenance.migrate import MigrateReport, migrate

from .common import fail, format_bytes, json_option, print_json, state

PHASES = {
    "snapshot": "Took a snapshot of the source index.",
    "uploaded": "Copied {total} message file(s); reading them back from the target.",
    "index": "Wrote the index rows in one transaction.",
}


@click.group("storage")
def storage() -> None:
    """Move a gateway's data between index and blob backends."""


@storage.command("migrate")
@click.option(
    "--source",
    "source_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The data directory of the SQLite + files gateway to copy (or a backup directory).",
)
@json_option
def migrate_command(source_dir: Path, as_json: bool) -> None:
    """Copy the gateway in --source into the configured storage.index (a postgresql://
    URL, or SQLite in --data) and storage.blobs (files or s3://), every message file
    byte for byte, each checked by SHA-256 after upload; no passphrase is needed.

    Safe while the source gateway runs (it copies one snapshot); run it again after
    stopping the source gateway to copy what arrived meanwhile (only that is copied),
    then start the nodes on the target. A failed run writes no index row: run it again.
    """
    require_data_directory(source_dir)
    cli = state()
    if cli.data_dir.resolve() == source_dir.resolve():
        raise fail("--source is this node's own --data directory: give the old gateway's")
    report = migrate(source_dir, cli.store, progress=None if as_json else _print_progress)
    if as_json:
        print_json(report.summary())
    else:
        _print_report(report)


def _print_progress(phase: str, done: int, total: int) -> None:
    if phase in PHASES:
        click.echo(PHASES[phase].format(total=total), err=True)
    elif phase == "upload" and total and (done == total or done % 500 == 0):
        click.echo(f"  looked at {done} of {total} message files", err=True)


def _print_report(report: MigrateReport) -> None:
    click.echo(
        f"Migrated {report.messages} messages from {report.source}: {report.uploaded} copied,"
        f" {report.skipped} already there; {format_bytes(report.verified_bytes)} read back"
        f" and verified; {report.removed} removed (gone from the source); in"
        f" {report.seconds:.1f} s."
    )
    if report.left_out:
        click.echo(
            f"{len(report.left_out)} messages deleted at the source during the run are not"
            " in the target."
        )
