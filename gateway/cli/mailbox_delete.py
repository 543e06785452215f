"""`gateway mailbox delete`: remove a mailbox on hold or disabled, its keys and its mail."""

from __future__ import annotations

import click

from storage import policy

from .common import audit, fail, get_store


@click.command("delete")
@click.argument("mailbox_ref", metavar="ID")
@click.option("--yes", is_flag=True, help="Confirm destroying the messages it still holds.")
def delete(mailbox_ref: str, yes: bool) -> None:
    """Delete the mailbox ID, which must be on hold or disabled.

    A mailbox that holds messages also needs --yes.
    """
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    if not policy.is_deletable(mailbox):
        raise fail(
            f"only a mailbox on hold or disabled can be deleted ({mailbox.id} is"
            f" {mailbox.status}); set its status first:"
            f" gateway mailbox update {mailbox.id} --status hold"
        )
    if mailbox.messages and not yes:
        raise fail(
            f"mailbox {mailbox.id} holds {mailbox.messages} messages;"
            " add --yes to delete them irreversibly"
        )
    destroyed = store.mailboxes.delete(mailbox.id, force=yes)
    audit("mailbox.delete", mailbox.id, f"messages={destroyed}")
    click.echo(f"Deleted mailbox {mailbox.id} and {destroyed} messages")
