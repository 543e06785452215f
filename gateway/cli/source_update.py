"""`gateway source update ID`: change a fetch source (options not given stay)."""

from __future__ import annotations

from pathlib import Path

import click

from storage import actions

from .common import actor, get_store, json_option, print_json
from .source_views import credentials, source_document, source_options


@click.command("update")
@click.argument("source_id", metavar="ID")
@click.option("--name", help="A new name.")
@source_options(required=False)
@click.option("--keep/--delete", default=None, help="Keep fetched mail at the source, or not.")
@click.option("--active/--inactive", default=None, help="Switch the source on or off.")
@json_option
def update(
    source_id: str,
    password_file: Path | None,
    oauth2: str | None,
    oauth_file: Path | None,
    folders: tuple[str, ...],
    as_json: bool,
    **changes: object,
) -> None:
    """Change the fetch source ID."""
    given = credentials(password_file, oauth2, oauth_file)
    auth, secret = given if given is not None else (None, None)
    request = actions.UpdateSource(
        source=source_id,
        auth=auth,
        secret=secret,
        folders=folders or None,
        **changes,  # type: ignore[arg-type]
    )
    source = actions.update_source(get_store(), actor(), request)
    if as_json:
        print_json(source_document(source))
        return
    click.echo(f"Updated source {source.id} ({source.name})")
