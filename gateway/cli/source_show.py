"""`gateway source show ID`: one fetch source, its last run and its skipped messages."""

from __future__ import annotations

import click

from .common import get_store, json_option, print_json
from .source_views import print_source, source_document


@click.command("show")
@click.argument("source_id", metavar="ID")
@json_option
def show(source_id: str, as_json: bool) -> None:
    """Show the fetch source ID."""
    store = get_store()
    source = store.sources.get(source_id)
    skipped = store.sources.skipped(source.id)
    if as_json:
        document = source_document(source)
        document["skipped"] = [
            {"folder": s.folder, "key": s.key, "reason": s.reason, "size": s.size} for s in skipped
        ]
        print_json(document)
        return
    print_source(source, skipped)
