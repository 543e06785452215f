"""`gateway source list [MAILBOX]`: the fetch sources and their last run."""

from __future__ import annotations

import click

from .common import format_time, get_store, json_option, print_json, print_table
from .source_views import source_document


@click.command("list")
@click.argument("mailbox_ref", metavar="[MAILBOX]", required=False)
@json_option
def list_sources(mailbox_ref: str | None, as_json: bool) -> None:
    """List the fetch sources (of one mailbox)."""
    store = get_store()
    mailbox_id = store.mailboxes.get(mailbox_ref).id if mailbox_ref else None
    sources = store.sources.list(mailbox_id)
    if as_json:
        print_json([source_document(s) for s in sources])
        return
    if not sources:
        click.echo("No fetch sources. Add one with: gateway source add MAILBOX ...")
        return
    rows = []
    for s in sources:
        status = ("active" if s.active else "off") + (" FAILING" if s.failing else "")
        where = f"{s.settings.protocol}://{s.settings.host}:{s.settings.port}"
        last = f"{format_time(s.last_run) or 'never'} ({s.last_count})"
        rows.append([s.id, s.mailbox_id, s.name, where, status, last])
    print_table(["ID", "MAILBOX", "NAME", "SERVER", "STATUS", "LAST RUN (STORED)"], rows)
