"""`gateway mailbox export`: decrypt a mailbox into mbox, Maildir or .eml files."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from storage import MailboxKey, MessageDamaged, MessageInfo
from storage.actions import AuditAction

from .common import audit, fail, get_store
from .export_formats import FORMATS, Writer, check_target, open_writer
from .passphrase_input import passphrase_options, read_passphrase


@click.command("export")
@click.argument("mailbox_ref", metavar="ID")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="mbox: a new file; maildir and eml: a new or empty directory.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="mbox",
    show_default=True,
    help="Output format.",
)
@passphrase_options
def export(
    mailbox_ref: str,
    out: Path,
    fmt: str,
    passphrase_file: Path | None,
    passphrase_stdin: bool,
) -> None:
    """Decrypt every readable message of ID and write it to --out.

    Messages sealed under an earlier passphrase are skipped (recover them first).
    A progress bar is shown when standard output is a terminal.
    """
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    problem = check_target(fmt, out)
    if problem:
        raise fail(problem)
    passphrase = read_passphrase(f"passphrase of {mailbox.id}", passphrase_file, passphrase_stdin)
    key = store.keys.unlock(mailbox.id, passphrase)
    messages = store.messages.list(mailbox.id)
    readable = [m for m in messages if key.can_read(m.epoch)]
    writer = open_writer(fmt, out)
    try:
        damaged = _write_all(store, key, readable, writer)
    finally:
        writer.close()
    exported = len(readable) - len(damaged)
    audit(AuditAction.MAILBOX_EXPORT, mailbox.id, f"format={fmt} messages={exported}")
    click.echo(f"Exported {exported} messages of {mailbox.id} to {out} ({fmt}).")
    _report(len(messages) - len(readable), damaged)


def _write_all(
    store: Any, key: MailboxKey, messages: Sequence[MessageInfo], writer: Writer
) -> list[str]:
    """Write each message; returns the ids of those that failed to decrypt."""
    damaged = []
    for message in _with_progress(messages):
        try:
            writer.add(message, store.messages.read(key, message))
        except MessageDamaged:
            damaged.append(message.id)
    return damaged


def _with_progress(messages: Sequence[MessageInfo]) -> Iterator[MessageInfo]:
    if not sys.stdout.isatty():
        yield from messages
        return
    with click.progressbar(messages, label="Exporting", show_pos=True) as bar:
        yield from bar


def _report(sealed: int, damaged: list[str]) -> None:
    if sealed:
        click.secho(
            f"WARNING: {sealed} messages sealed under an earlier passphrase were not exported;"
            " run `gateway mailbox recover` with that passphrase first.",
            err=True,
            fg="yellow",
        )
    if damaged:
        raise fail(
            f"{len(damaged)} damaged messages failed authentication and were not exported:"
            f" {', '.join(damaged)}"
        )
