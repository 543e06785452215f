"""`gateway mailbox update`: status, quota, networks, protocols, name and aliases."""

from __future__ import annotations

from typing import Any

import click

from storage import actions, policy
from storage.models import STATUSES

from .common import actor, get_store, json_option, print_json
from .params import BYTE_SIZE, PROTOCOL_LIST
from .views import mailbox_document, print_mailbox


@click.command("update")
@click.argument("mailbox_ref", metavar="ID")
@click.option("--status", type=click.Choice(STATUSES), help="New status.")
@click.option("--quota", type=BYTE_SIZE, help="Quota in bytes (500M, 10G; 0 = unlimited).")
@click.option(
    "--allow-network",
    "networks",
    multiple=True,
    metavar="CIDR",
    help="Allow POP3/IMAP logins only from these networks (repeatable; replaces the list).",
)
@click.option("--clear-networks", is_flag=True, help="Allow logins from any network again.")
@click.option("--name", help="New display name.")
@click.option("--description", help="New description.")
@click.option("--add-alias", "add_aliases", multiple=True, metavar="ADDR", help="Add an alias.")
@click.option(
    "--remove-alias", "remove_aliases", multiple=True, metavar="ADDR", help="Remove an alias."
)
@click.option(
    "--protocols",
    type=PROTOCOL_LIST,
    help="Retrieval protocols allowed: pop3,imap, one of them, or none.",
)
@click.option(
    "--passphrase-max-age",
    "max_age",
    type=click.Choice(list(policy.MAX_AGE_CHOICES), case_sensitive=False),
    help="Report the passphrase as overdue after 3, 6 or 12 months (never blocks retrieval).",
)
@click.option(
    "--reset-lock",
    type=click.Choice(["on", "off"]),
    help="on: passphrase resets need a superadmin and a typed confirmation; off: clear it.",
)
@json_option
def update(
    mailbox_ref: str,
    networks: tuple[str, ...],
    clear_networks: bool,
    add_aliases: tuple[str, ...],
    remove_aliases: tuple[str, ...],
    max_age: str | None,
    reset_lock: str | None,
    as_json: bool,
    **changes: Any,
) -> None:
    """Change the mailbox ID. Either every change is applied or none is."""
    if networks and clear_networks:
        raise click.UsageError("use either --allow-network or --clear-networks, not both")
    fields = {k: v for k, v in changes.items() if v is not None}
    if networks or clear_networks:
        fields["allowed_networks"] = tuple(networks)
    if "protocols" in fields:
        fields["protocols"] = tuple(fields["protocols"])
    if max_age is not None:
        fields["max_age_days"] = policy.parse_max_age(max_age)
    if reset_lock is not None:
        fields["reset_locked"] = reset_lock == "on"
    if not (fields or add_aliases or remove_aliases):
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    store = get_store()
    wanted = actions.UpdateMailbox(
        mailbox_ref, add_aliases=add_aliases, remove_aliases=remove_aliases, **fields
    )
    mailbox = actions.update_mailbox(store, actor(), wanted)
    sealed = store.keys.sealed_message_count(mailbox.id)
    if as_json:
        print_json(mailbox_document(mailbox, sealed))
    else:
        click.echo(f"Updated mailbox {mailbox.id}")
        print_mailbox(mailbox, sealed, store.keys.list_epochs(mailbox.id))
