"""`gateway mailbox export-identity`: the mailbox's age identities, for stock age tools."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .common import audit, fail, get_store
from .passphrase_input import passphrase_options, read_passphrase

IDENTITY_MODE = 0o600


@click.command("export-identity")
@click.argument("mailbox_ref", metavar="ID")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Identity file to create (mode 0600; must not exist).",
)
@passphrase_options
def export_identity(
    mailbox_ref: str, out: Path, passphrase_file: Path | None, passphrase_stdin: bool
) -> None:
    """Write the age identities of ID to a new file, so the stored .age files can be
    read with stock age tools, without this software."""
    store = get_store()
    mailbox = store.get_mailbox(mailbox_ref)
    if out.exists() or out.is_symlink():
        raise fail(f"{out} already exists; choose a new file name")
    passphrase = read_passphrase(f"passphrase of {mailbox.id}", passphrase_file, passphrase_stdin)
    text = store.export_identity(mailbox.id, passphrase)
    write_private_file(out, text)
    audit("mailbox.export_identity", mailbox.id)
    click.echo(f"Wrote the age identity of {mailbox.id} to {out} (mode 0600).")
    click.secho(
        "WARNING: anyone holding this file can read this mailbox's archive. Keep it offline.",
        err=True,
        fg="yellow",
    )


def write_private_file(path: Path, text: str) -> None:
    """Create `path` exclusively, readable and writable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, IDENTITY_MODE)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        os.fchmod(fh.fileno(), IDENTITY_MODE)
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
