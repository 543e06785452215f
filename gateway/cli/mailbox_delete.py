"""`gateway mailbox delete`: remove a mailbox on hold or disabled, its keys and its mail,
optionally handing its addresses to another mailbox of the same domain."""

from __future__ import annotations

import click

from storage import actions
from storage.errors import NotDeletable, NotEmpty

from .common import actor, fail, get_store


@click.command("delete")
@click.argument("mailbox_ref", metavar="ID")
@click.option("--yes", is_flag=True, help="Confirm destroying the messages it still holds.")
@click.option(
    "--hand-over-to",
    "hand_over_to",
    metavar="OTHER",
    default="",
    help="Move its addresses (primary and aliases) to OTHER, a mailbox of the same domain.",
)
def delete(mailbox_ref: str, yes: bool, hand_over_to: str) -> None:
    """Delete the mailbox ID, which must be on hold or disabled.

    A mailbox that holds messages also needs --yes. With --hand-over-to, mail sent to
    its addresses afterwards lands in OTHER instead of being rejected.
    """
    wanted = actions.DeleteMailbox(mailbox_ref, destroy_messages=yes, hand_over_to=hand_over_to)
    try:
        deleted = actions.delete_mailbox(get_store(), actor(), wanted)
    except NotDeletable as exc:
        ref = exc.params["mailbox"]
        hint = f"set its status first: gateway mailbox update {ref} --status hold"
        raise fail(f"{exc}; {hint}") from None
    except NotEmpty as exc:
        raise fail(f"{exc}; add --yes to delete them irreversibly") from None
    mailbox = deleted.mailbox
    click.echo(f"Deleted mailbox {mailbox.id} and {deleted.messages_destroyed} messages")
    if deleted.handed_over_to is not None:
        addresses = ", ".join(mailbox.addresses)
        click.echo(f"Handed over to {deleted.handed_over_to.id}: {addresses}")
