"""`gateway mailbox purge-sealed`: destroy mail sealed under lost passphrases."""

from __future__ import annotations

import click

from storage import actions

from .common import actor, confirm, get_store, json_option, print_json


@click.command("purge-sealed")
@click.argument("mailbox_ref", metavar="ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def purge_sealed(mailbox_ref: str, yes: bool, as_json: bool) -> None:
    """Irreversibly destroy the key epochs of ID sealed under earlier passphrases,
    and their messages."""
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    sealed_epochs = (
        store.keys.sealed_message_count(mailbox.id),
        [e for e in store.keys.list_epochs(mailbox.id) if e.state == "sealed"],
    )
    count, epochs = sealed_epochs
    if not epochs:
        if as_json:
            print_json({"id": mailbox.id, "purged_epochs": 0, "purged_messages": 0})
        else:
            click.echo(f"{mailbox.id} has no sealed key epochs; nothing to purge.")
        return
    count = store.keys.sealed_message_count(mailbox.id)
    confirm(
        f"Irreversibly destroy {count} messages of {mailbox.id} sealed under earlier passphrases?",
        yes,
        "purge sealed mail",
    )
    purged = actions.purge_sealed(store, actor(), actions.PurgeSealed(mailbox.id))
    if as_json:
        print_json(
            {"id": mailbox.id, "purged_epochs": purged.epochs, "purged_messages": purged.messages}
        )
        return
    click.echo(f"Purged {purged.epochs} sealed key epochs and {purged.messages} messages.")
