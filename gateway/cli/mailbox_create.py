"""`gateway mailbox create`: a new mailbox and its passphrase, shown once."""

from __future__ import annotations

import click

from storage import actions

from .common import actor, get_store, json_option
from .params import BYTE_SIZE
from .views import PASSPHRASE_WARNING, created_document, reveal_secret


@click.command("create")
@click.option("--domain", "domain_name", required=True, help="Accepted domain of the mailbox.")
@click.option("--name", default="", help="Display name (default: the mailbox id).")
@click.option("--description", default="", help="Free text, e.g. the customer and journal rule.")
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    metavar="ADDR",
    help="Extra address delivering to this mailbox (repeatable).",
)
@click.option("--quota", type=BYTE_SIZE, default=0, help="Quota in bytes (500M, 10G; 0 = none).")
@json_option
def create(
    domain_name: str,
    name: str,
    description: str,
    aliases: tuple[str, ...],
    quota: int,
    as_json: bool,
) -> None:
    """Create a mailbox and print its passphrase once.

    The primary address is <id>@DOMAIN, which cannot be guessed. The passphrase is
    not stored anywhere: write it into the archiving software now.
    """
    wanted = actions.CreateMailbox(
        domain_name, name=name, description=description, aliases=aliases, quota=quota
    )
    created = actions.create_mailbox(get_store(), actor(), wanted)
    mailbox, passphrase = created.mailbox, created.passphrase
    lines = [
        f"Created mailbox {mailbox.id} in {mailbox.domain}",
        f"Address:    {mailbox.address}",
        *(f"Alias:      {alias}" for alias in mailbox.aliases),
    ]
    document = created_document(mailbox, passphrase)
    reveal_secret(as_json, document, lines, "Passphrase", passphrase, PASSPHRASE_WARNING)
