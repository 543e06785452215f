"""`gateway source run ID`: fetch now and print the counts."""

from __future__ import annotations

import click

from storage import actions

from .common import actor, fail, get_store, json_option, print_json
from .source_views import cli_fetcher


@click.command("run")
@click.argument("source_id", metavar="ID")
@json_option
def run(source_id: str, as_json: bool) -> None:
    """Fetch from the source ID now (exit status 1 when the run failed)."""
    store = get_store()
    fetcher = cli_fetcher(store)
    outcome = actions.run_source(store, actor(), actions.RunSource(source_id, fetcher.run))
    if as_json:
        print_json(outcome.document())
    elif outcome.busy:
        click.echo(f"Source {source_id} is being fetched by another process; try again later")
    else:
        click.echo(
            f"Fetched {outcome.fetched}, skipped {outcome.skipped},"
            f" deleted at the source {outcome.deleted}"
        )
        if outcome.error and not outcome.failed:
            click.echo(outcome.error, err=True)
    if outcome.failed:
        raise fail(outcome.error)
