"""`gateway source add MAILBOX`: a new fetch source for a mailbox."""

from __future__ import annotations

from pathlib import Path

import click

from storage import actions

from .common import actor, get_store, json_option, print_json
from .source_views import credentials, source_document, source_options


@click.command("add")
@click.argument("mailbox_ref", metavar="MAILBOX")
@click.option("--name", required=True, help="A name for the source, unique in the mailbox.")
@click.option("--protocol", required=True, type=click.Choice(["pop3", "imap"]))
@source_options(required=True)
@click.option("--keep", is_flag=True, help="Keep fetched mail at the source (default: delete).")
@click.option("--inactive", is_flag=True, help="Add it switched off.")
@json_option
def add(
    mailbox_ref: str,
    name: str,
    protocol: str,
    password_file: Path | None,
    oauth2: str | None,
    oauth_file: Path | None,
    folders: tuple[str, ...],
    keep: bool,
    inactive: bool,
    as_json: bool,
    **connection: object,
) -> None:
    """Fetch mail from a POP3 or IMAP account into MAILBOX (id or address)."""
    given = credentials(password_file, oauth2, oauth_file)
    if given is None:
        raise click.UsageError("give --password-file F, or --oauth2 PROVIDER --oauth-file F")
    auth, secret = given
    request = actions.AddSource(
        mailbox=mailbox_ref,
        name=name,
        protocol=protocol,
        secret=secret,
        auth=auth,
        folders=folders,
        keep=keep,
        active=not inactive,
        insecure=bool(connection.pop("insecure")),
        **connection,  # type: ignore[arg-type]
    )
    source = actions.add_source(get_store(), actor(), request)
    if as_json:
        print_json(source_document(source))
        return
    click.echo(f"Added source {source.id} ({source.name}) to {source.mailbox_id}")
    if source.settings.tls == "none":
        click.echo("Warning: TLS none: the password travels in clear.", err=True)
