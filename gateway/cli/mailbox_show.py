"""`gateway mailbox show`: one mailbox in detail, with its key epochs."""

from __future__ import annotations

import click

from .common import get_store, json_option, print_json
from .views import epoch_document, mailbox_document, print_mailbox


@click.command("show")
@click.argument("mailbox_ref", metavar="ID")
@json_option
def show(mailbox_ref: str, as_json: bool) -> None:
    """Show the mailbox ID (its id or any of its addresses)."""
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    sealed = store.keys.sealed_message_count(mailbox.id)
    epochs = store.keys.list_epochs(mailbox.id)
    if as_json:
        document = mailbox_document(mailbox, sealed)
        document["epochs"] = [epoch_document(e) for e in epochs]
        print_json(document)
        return
    print_mailbox(mailbox, sealed, epochs)
