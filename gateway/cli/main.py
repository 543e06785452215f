"""The `gateway` command line (DESIGN §6): one click group, one module per command.

Exit status: 0 success, 1 the operation failed (one line on stderr), 2 usage error.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from . import (
    mailbox_bulk,
    mailbox_create,
    mailbox_delete,
    mailbox_export,
    mailbox_export_csv,
    mailbox_export_identity,
    mailbox_import,
    mailbox_list,
    mailbox_passphrase,
    mailbox_purge,
    mailbox_relay,
    mailbox_robot,
    mailbox_show,
    mailbox_update,
    source_add,
    source_list,
    source_remove,
    source_run,
    source_show,
    source_test,
    source_update,
)
from .admin import admin
from .backup import backup, restore
from .common import CliState, GatewayGroup, get_store, open_configured_store
from .config_cmd import config
from .domain import domain
from .fsck import fsck
from .metrics import metrics
from .retention import retention
from .serve import serve
from .storage_cmd import storage

__all__ = ["get_store", "main", "open_configured_store"]

PRIVATE_UMASK = 0o077


@click.group(
    name="gateway", cls=GatewayGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--data",
    "data_dir",
    envvar="GATEWAY_DATA",
    default="./gateway-data",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Data directory (env GATEWAY_DATA).",
)
@click.option(
    "--config",
    "config_file",
    envvar="GATEWAY_CONFIG",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML configuration file (env GATEWAY_CONFIG).",
)
@click.version_option(package_name="journal-gateway")
@click.pass_context
def main(ctx: click.Context, data_dir: Path, config_file: Path | None) -> None:
    """Journal Gateway: encrypted journal-archive mailboxes (SMTP in, POP3/IMAP out)."""
    # Defence in depth: the store makes its files private itself, and so is everything
    # else this process writes (exports, passphrase lists, backups). Restored on close
    # for callers that run commands in-process.
    previous_umask = os.umask(PRIVATE_UMASK)
    ctx.call_on_close(lambda: os.umask(previous_umask))
    cli_state = CliState(data_dir, config_file)
    ctx.obj = cli_state
    ctx.call_on_close(cli_state.close)


@click.group()
def mailbox() -> None:
    """Manage mailboxes, their passphrases and their mail."""


for command in (
    mailbox_create.create,
    mailbox_import.import_mailboxes,
    mailbox_list.list_mailboxes,
    mailbox_show.show,
    mailbox_update.update,
    mailbox_delete.delete,
    mailbox_passphrase.change_passphrase,
    mailbox_passphrase.reset_passphrase,
    mailbox_passphrase.recover,
    mailbox_export.export,
    mailbox_export_identity.export_identity,
    mailbox_purge.purge_sealed,
    mailbox_bulk.bulk,
    mailbox_export_csv.export_csv,
    mailbox_relay.relay,
    mailbox_robot.robot,
):
    mailbox.add_command(command)


@click.group()
def source() -> None:
    """Fetch sources: pull mail from external POP3/IMAP mailboxes into a mailbox."""


for command in (
    source_add.add,
    source_list.list_sources,
    source_show.show,
    source_update.update,
    source_remove.remove,
    source_run.run,
    source_test.test,
):
    source.add_command(command)

main.add_command(serve)
main.add_command(domain)
main.add_command(mailbox)
main.add_command(admin)
main.add_command(source)
for command in (backup, restore, fsck, config, retention, metrics, storage):
    main.add_command(command)


if __name__ == "__main__":
    main()
