"""`gateway backup DEST` and `gateway restore SRC`: online copies of the data directory."""

from __future__ import annotations

import click

from storage.maintenance import backup as make_backup
from storage.maintenance import require_data_directory
from storage.maintenance import restore as restore_backup

from .common import audit, fail, format_bytes, json_option, print_json
from .config_cmd import cli_state


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False))
@json_option
def backup(dest: str, as_json: bool) -> None:
    """Copy the data directory to DEST (new or empty) while the gateway keeps running.

    The index is copied with SQLite's online backup API, then every message file it
    lists, each checked against its SHA-256; tls/ and secrets/ are included. Exit
    status 1 when the live store has missing or damaged files (run gateway fsck).
    """
    state = cli_state()
    require_data_directory(state.data_dir)
    report = make_backup(state.store, dest)
    audit("backup", dest, f"{report.messages} messages")
    if as_json:
        print_json(report.manifest())
    else:
        click.echo(
            f"Backup written to {dest}: {report.messages} messages in {report.mailboxes}"
            f" mailboxes, {format_bytes(report.blob_bytes)}, in {report.seconds:.1f} s."
        )
        if report.deleted_during_backup:
            click.echo(
                f"{len(report.deleted_during_backup)} messages deleted by clients during"
                " the backup are not in it."
            )
    if not report.clean:
        raise fail(
            f"the live store has {len(report.missing)} missing and {len(report.damaged)}"
            " damaged message files (copied as found); run: gateway fsck"
        )


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@json_option
def restore(src: str, as_json: bool) -> None:
    """Restore the backup in SRC into the data directory (--data), which must be empty.

    Every file is checked against the backup's manifest and index before anything is
    put in place; a damaged or altered backup is refused and leaves --data empty.
    """
    data_dir = cli_state().data_dir
    report = restore_backup(src, data_dir)
    if as_json:
        print_json(
            {
                "data_dir": str(data_dir),
                "messages": report.messages,
                "bytes": report.blob_bytes,
                "files": report.files,
                "missing": report.missing,
                "damaged": report.damaged,
                "backup_created": report.manifest.get("created"),
            }
        )
    else:
        click.echo(
            f"Restored {report.messages} messages ({format_bytes(report.blob_bytes)}) from the"
            f" backup of {report.manifest.get('created')} into {data_dir}."
        )
        click.echo(f"Start the gateway with: gateway --data {data_dir} serve")
    if report.missing or report.damaged:
        click.echo(
            f"warning: the backup recorded {len(report.missing)} missing and"
            f" {len(report.damaged)} damaged files of the original store; run: gateway fsck",
            err=True,
        )
