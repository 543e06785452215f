"""`gateway backup DEST` and `gateway restore SRC`: online copies of the data directory."""

from __future__ import annotations

from pathlib import Path

import click

from storage.actions import AuditAction
from storage.index_location import POSTGRESQL, index_kind
from storage.maintenance import backup as make_backup
from storage.maintenance import require_data_directory
from storage.maintenance import restore as restore_backup
from storage.maintenance.restore import restore_into_store
from storage.sealing import read_key_file

from .common import CliState, audit, fail, format_bytes, json_option, print_json
from .config_cmd import cli_state


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Also copy DATA/secrets/ (the seal key of the TOTP secrets, the console's CSRF key).",
)
@json_option
def backup(dest: str, include_secrets: bool, as_json: bool) -> None:
    """Copy the data directory to DEST (new or empty) while the gateway keeps running.

    The index is copied with SQLite's online backup API, then every message file it
    lists, each checked against its SHA-256; tls/ is included, secrets/ only with
    --include-secrets (keep the seal key apart from the backups; restore takes it
    with --seal-key-file). DEST is made 0700, its files 0600. Exit status 1 when the
    live store has missing or damaged files (run gateway fsck).
    """
    state = cli_state()
    require_data_directory(state.data_dir)
    report = make_backup(state.store, dest, include_secrets=include_secrets)
    detail = f"{report.messages} messages" + (", secrets" if include_secrets else "")
    audit(AuditAction.BACKUP, dest, detail)
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
        if not include_secrets:
            click.echo(
                "The seal key of the TOTP secrets is not in the backup: keep a copy of it"
                " apart (DATA/secrets/seal.key unless secrets.seal_key or"
                " secrets.seal_key_file is set); restore takes it with --seal-key-file."
            )
    if not report.clean:
        raise fail(
            f"the live store has {len(report.missing)} missing and {len(report.damaged)}"
            " damaged message files (copied as found); run: gateway fsck"
        )


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--seal-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The backed-up gateway's seal key, for a backup made without --include-secrets;"
    " checked, then written to DATA/secrets/seal.key.",
)
@json_option
def restore(src: str, seal_key_file: Path | None, as_json: bool) -> None:
    """Restore the backup in SRC into the data directory (--data), which must be empty;
    with storage.index set to a PostgreSQL URL, into that database (which must be
    empty) and the configured storage.blobs instead.

    Every file is checked against the backup's manifest and index before anything is
    put in place; a damaged or altered backup, or a seal key that is not the one its
    TOTP secrets were sealed with, is refused and leaves --data empty.
    """
    state = cli_state()
    if index_kind(state.settings["storage.index"]) == POSTGRESQL:
        _restore_into_postgresql(state, src, seal_key_file, as_json)
        return
    data_dir = state.data_dir
    key = read_key_file(seal_key_file) if seal_key_file is not None else None
    report = restore_backup(src, data_dir, seal_key=key)
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
                "sealed_secrets": report.sealed_secrets,
                "seal_key": report.seal_key or None,
            }
        )
    else:
        click.echo(
            f"Restored {report.messages} messages ({format_bytes(report.blob_bytes)}) from the"
            f" backup of {report.manifest.get('created')} into {data_dir}."
        )
        click.echo(f"Start the gateway with: gateway --data {data_dir} serve")
    if report.sealed_secrets and not report.seal_key and not _key_configured(state):
        click.echo(
            f"warning: {report.sealed_secrets} TOTP secret(s) in the backup are sealed with a"
            " seal key that is not in it: copy that key to DATA/secrets/seal.key (mode 0600)"
            " or set secrets.seal_key or secrets.seal_key_file before starting; until then"
            " those admins cannot sign in (gateway admin disable-totp NAME turns it off).",
            err=True,
        )
    if report.missing or report.damaged:
        click.echo(
            f"warning: the backup recorded {len(report.missing)} missing and"
            f" {len(report.damaged)} damaged files of the original store; run: gateway fsck",
            err=True,
        )


def _restore_into_postgresql(
    state: CliState, src: str, seal_key_file: Path | None, as_json: bool
) -> None:
    """storage.index is PostgreSQL: fill that (empty) database and the configured blobs."""
    if seal_key_file is not None:
        raise fail(
            "--seal-key-file is for a SQLite data directory: a PostgreSQL node takes the"
            " seal key from secrets.seal_key_file (set it to the backed-up gateway's key)"
        )
    report = restore_into_store(src, state.store)
    if as_json:
        print_json({"index": "postgresql", **report.summary()})
        return
    click.echo(
        f"Restored {report.messages} messages ({format_bytes(report.verified_bytes)}, every"
        f" object read back and verified) from {src} into the configured index."
    )


def _key_configured(state: CliState) -> bool:
    return bool(state.settings["secrets.seal_key"] or state.settings["secrets.seal_key_file"])
