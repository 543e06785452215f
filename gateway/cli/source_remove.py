"""`gateway source remove ID`: stop fetching from a source and forget it."""

from __future__ import annotations

import click

from storage import actions

from .common import actor, get_store


@click.command("remove")
@click.argument("source_id", metavar="ID")
def remove(source_id: str) -> None:
    """Remove the fetch source ID (its credentials and tracking; stored mail stays)."""
    source = actions.remove_source(get_store(), actor(), actions.SourceRef(source_id))
    click.echo(f"Removed source {source.id} ({source.name})")
