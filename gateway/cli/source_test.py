"""`gateway source test ID`: connect, sign in and list; nothing is fetched or recorded."""

from __future__ import annotations

import functools

import click

from storage import actions

from ..sources.check import check_source
from .common import actor, fail, get_store, json_option, print_json
from .source_views import cli_fetcher


@click.command("test")
@click.argument("source_id", metavar="ID")
@json_option
def test(source_id: str, as_json: bool) -> None:
    """Test the connection and sign-in of source ID (exit status 1 when it fails)."""
    store = get_store()
    check = functools.partial(check_source, store, cli_fetcher(store).options)
    outcome = actions.check_source(store, actor(), actions.CheckSource(source_id, check))
    if as_json:
        print_json(outcome.document())
    elif not outcome.failed:
        click.echo(f"Connection and sign-in work: {outcome.messages} messages at the source")
    if outcome.failed:
        raise fail(outcome.error)
