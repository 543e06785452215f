"""`gateway mailbox list`: every mailbox, or those of one domain."""

from __future__ import annotations

import click

from .common import format_bytes, get_store, json_option, print_json, print_table
from .views import mailbox_document


@click.command("list")
@click.option("--domain", "domain_name", default=None, help="Only mailboxes of this domain.")
@json_option
def list_mailboxes(domain_name: str | None, as_json: bool) -> None:
    """List mailboxes with their status, message count and size."""
    store = get_store()
    if domain_name is not None:
        domain_name = store.domains.get(domain_name).name
    mailboxes = store.mailboxes.list(domain_name)
    sealed = {m.id: store.keys.sealed_message_count(m.id) for m in mailboxes}
    if as_json:
        print_json([mailbox_document(m, sealed[m.id]) for m in mailboxes])
        return
    if not mailboxes:
        click.echo("No mailboxes. Create one with: gateway mailbox create --domain DOMAIN")
        return
    print_table(
        ["ID", "ADDRESS", "STATUS", "MESSAGES", "SIZE", "SEALED", "NAME"],
        [
            [
                m.id,
                m.address,
                m.status,
                str(m.messages),
                format_bytes(m.bytes),
                str(sealed[m.id]),
                m.name,
            ]
            for m in mailboxes
        ],
    )
