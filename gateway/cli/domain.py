"""`gateway domain add|list|remove`: the accepted mail domains."""

from __future__ import annotations

import click

from storage import actions

from .common import actor, format_time, get_store, json_option, print_json, print_table


@click.group()
def domain() -> None:
    """Manage accepted mail domains (one per customer)."""


@domain.command("add")
@click.argument("name")
@json_option
def add(name: str, as_json: bool) -> None:
    """Accept mail for the domain NAME."""
    created = actions.add_domain(get_store(), actor(), actions.DomainName(name))
    if as_json:
        print_json({"name": created.name, "mailboxes": 0, "created": format_time(created.created)})
    else:
        click.echo(f"Added domain {created.name}")


@domain.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List the accepted domains and how many mailboxes each has."""
    domains = get_store().domains.list()
    if as_json:
        print_json(
            [
                {"name": d.name, "mailboxes": d.mailboxes, "created": format_time(d.created)}
                for d in domains
            ]
        )
        return
    if not domains:
        click.echo("No domains. Add one with: gateway domain add NAME")
        return
    print_table(
        ["DOMAIN", "MAILBOXES", "CREATED"],
        [[d.name, str(d.mailboxes), format_time(d.created) or ""] for d in domains],
    )


@domain.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Stop accepting mail for NAME (no mailbox or alias may be left in it)."""
    removed = actions.remove_domain(get_store(), actor(), actions.DomainName(name))
    click.echo(f"Removed domain {removed.name}")
