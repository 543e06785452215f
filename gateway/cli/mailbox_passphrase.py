"""`gateway mailbox change-passphrase | reset-passphrase | recover`.

change: the current passphrase in, a new one out; every key epoch is re-sealed.
reset:  no passphrase in (it was lost), a new one out; older mail stays sealed.
recover: an old passphrase found again plus the current one; its mail reads again.
"""

from __future__ import annotations

from pathlib import Path

import click

from storage import actions
from storage.errors import ConfirmationNeeded

from .common import actor, confirm, fail, get_store, json_option, print_json
from .passphrase_input import (
    Wanted,
    old_passphrase_file_option,
    passphrase_file_option,
    passphrase_options,
    passphrase_stdin_option,
    read_passphrase,
    read_passphrases,
)
from .views import PASSPHRASE_WARNING, reveal_secret


@click.command("change-passphrase")
@click.argument("mailbox_ref", metavar="ID")
@passphrase_options
@json_option
def change_passphrase(
    mailbox_ref: str, passphrase_file: Path | None, passphrase_stdin: bool, as_json: bool
) -> None:
    """Replace the passphrase of ID; all its mail stays readable.

    Asks for the current passphrase and prints the new one once.
    """
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    current = read_passphrase(
        f"current passphrase of {mailbox.id}", passphrase_file, passphrase_stdin
    )
    wanted = actions.ChangePassphrase(mailbox.id, current)
    new = actions.change_passphrase(store, actor(), wanted).passphrase
    reveal_secret(
        as_json,
        {"id": mailbox.id, "passphrase": new},
        [f"Changed the passphrase of {mailbox.id}; the old one no longer works."],
        "New passphrase",
        new,
        PASSPHRASE_WARNING,
    )


@click.command("reset-passphrase")
@click.argument("mailbox_ref", metavar="ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--confirm",
    "typed_id",
    metavar="ID",
    help="The mailbox id, required when its passphrase resets are locked (--reset-lock on).",
)
@json_option
def reset_passphrase(mailbox_ref: str, yes: bool, typed_id: str | None, as_json: bool) -> None:
    """Give ID a new passphrase when the current one is lost.

    New mail is readable with the new passphrase. Mail already stored stays sealed
    under the old one until `gateway mailbox recover` is run with it.
    """
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    confirm(
        f"Reset the passphrase of {mailbox.id}? Its {mailbox.messages} stored messages stay"
        " sealed under the old passphrase until it is recovered.",
        yes,
        "reset the passphrase",
    )
    try:
        reset_done = actions.reset_passphrase(
            store, actor(), actions.ResetPassphrase(mailbox.id, typed_id)
        )
    except ConfirmationNeeded:
        raise _locked(mailbox.id) from None
    new, sealed = reset_done.passphrase, reset_done.sealed_messages
    reveal_secret(
        as_json,
        {"id": mailbox.id, "passphrase": new, "sealed_messages": sealed},
        [
            f"Reset the passphrase of {mailbox.id}.",
            f"{sealed} messages are sealed under earlier passphrases.",
        ],
        "New passphrase",
        new,
        PASSPHRASE_WARNING,
    )


def _locked(mailbox_id: str) -> click.ClickException:
    return fail(
        f"passphrase resets of {mailbox_id} are locked: give --confirm {mailbox_id}"
        " to reset it anyway"
    )


@click.command("recover")
@click.argument("mailbox_ref", metavar="ID")
@old_passphrase_file_option
@passphrase_file_option("Read the current passphrase from the first line of FILE.")
@passphrase_stdin_option(
    "Read the passphrases not given by a file from standard input, one per line:"
    " the old passphrase first, then the current one."
)
@json_option
def recover(
    mailbox_ref: str,
    old_passphrase_file: Path | None,
    passphrase_file: Path | None,
    passphrase_stdin: bool,
    as_json: bool,
) -> None:
    """Make mail sealed under an old passphrase of ID readable again.

    Asks for the old passphrase (found again after a reset) and the current one; the
    key epochs the old one opens are re-sealed under the current passphrase.
    """
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    old, current = read_passphrases(
        [
            Wanted(f"old passphrase of {mailbox.id}", old_passphrase_file),
            Wanted(f"current passphrase of {mailbox.id}", passphrase_file),
        ],
        passphrase_stdin,
    )
    wanted = actions.RecoverPassphrase(mailbox.id, old, current)
    done = actions.recover_passphrase(store, actor(), wanted)
    recovered, sealed = done.epochs, done.sealed_messages
    if as_json:
        print_json({"id": mailbox.id, "recovered_epochs": recovered, "sealed_messages": sealed})
        return
    click.echo(f"Recovered {recovered} key epochs of {mailbox.id}; their mail is readable again.")
    click.echo(f"{sealed} messages remain sealed under other passphrases.")
