"""`gateway mailbox export-identity`: the mailbox's age identities, for stock age tools."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import click

from storage import actions
from storage.s3.location import S3Location

from .common import actor, fail, get_store, state
from .passphrase_input import passphrase_options, read_passphrase

IDENTITY_MODE = 0o600
PQ_PREFIX = "AGE-SECRET-KEY-PQ-1"
X25519_PREFIX = "AGE-SECRET-KEY-1"


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
    mailbox = store.mailboxes.get(mailbox_ref)
    if out.exists() or out.is_symlink():
        raise fail(f"{out} already exists; choose a new file name")
    passphrase = read_passphrase(f"passphrase of {mailbox.id}", passphrase_file, passphrase_stdin)
    text = actions.export_identity(
        store, actor(), actions.ExportIdentity(mailbox.id, passphrase)
    ).text
    write_private_file(out, text)
    click.echo(f"Wrote the age identity of {mailbox.id} to {out} (mode 0600).")
    for line in how_to_read(out, identity_kinds(text), message_files_of(mailbox.id)):
        click.echo(line, err=True)
    click.secho(
        "WARNING: anyone holding this file can read this mailbox's archive. Keep it offline.",
        err=True,
        fg="yellow",
    )


def message_files_of(mailbox_id: str) -> str:
    """Where the mailbox's .age files are: DATA/blobs/ID, or s3://BUCKET/PREFIX/blobs/ID."""
    blobs = state().settings["storage.blobs"]
    if blobs == "files":
        return str(state().data_dir / "blobs" / mailbox_id)
    return f"{S3Location.parse(blobs)}/blobs/{mailbox_id}"


def identity_kinds(text: str) -> list[tuple[int, str]]:
    """(epoch, recipient type) of each identity in an exported file, in file order."""
    kinds, epoch = [], 0
    for line in text.splitlines():
        heading = re.match(r"# epoch (\d+) created ", line)
        if heading:
            epoch = int(heading.group(1))
        elif line.startswith(PQ_PREFIX):
            kinds.append((epoch, "mlkem768x25519"))
        elif line.startswith(X25519_PREFIX):
            kinds.append((epoch, "x25519"))
    return kinds


def how_to_read(out: Path, kinds: list[tuple[int, str]], blobs: str | Path) -> list[str]:
    """What the file holds, which age can read it, and the exact commands to use."""
    names = [
        f"{kind} (post-quantum, epoch {epoch})"
        if kind == "mlkem768x25519"
        else f"{kind} (epoch {epoch})"
        for epoch, kind in kinds
    ]
    plural = "identity" if len(kinds) == 1 else "identities"
    lines = [f"The file holds {len(kinds)} {plural}: {', '.join(names) or 'none'}."]
    types = {kind for _, kind in kinds}
    if "mlkem768x25519" in types:
        lines += [
            "mlkem768x25519 (post-quantum) identities need age 1.3 or later, or another age",
            "implementation with post-quantum support; Debian 12's age 1.1 cannot read them and",
            'reports "unknown identity type" (for the whole file).',
        ]
    if types == {"x25519", "mlkem768x25519"}:
        lines.append(
            f"For age 1.1 and the x25519 epochs: grep -v '^{PQ_PREFIX}' {shlex.quote(str(out))}"
            " > x25519-only.txt"
        )
    identity = shlex.quote(str(out))
    lines += [
        f"Stored messages are the files {blobs}/<yyyy>/<mm>/<message-id>.age.",
        'The header line "-> jgw-bind <mailbox> <message> <epoch> zstd|raw" of each',
        "(grep -a -m1 jgw-bind FILE) says whether it is compressed. To read one (MESSAGE.age):",
        f"  age -d -i {identity} MESSAGE.age | zstd -dc > message.eml  # zstd (the default)",
        f"  age -d -i {identity} MESSAGE.age > message.eml  # raw: not compressed",
    ]
    return lines


def write_private_file(path: Path, text: str) -> None:
    """Create `path` exclusively, readable and writable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, IDENTITY_MODE)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        os.fchmod(fh.fileno(), IDENTITY_MODE)
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
