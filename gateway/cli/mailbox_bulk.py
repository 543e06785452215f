"""`gateway mailbox bulk status|delete`: one act on many mailboxes (storage/actions/bulk.py).

Each changed mailbox gets its own audit entry, with the bulk reference printed here.
"""

from __future__ import annotations

from typing import Any

import click

from storage import actions
from storage.models import STATUSES, Mailbox

from .common import actor, fail, get_store, json_option, print_json, print_table
from .selection import selection_from, selection_options


@click.group("bulk")
def bulk() -> None:
    """Change the status of many mailboxes, or delete the deletable ones."""


@bulk.command("status")
@click.option("--status", "new_status", required=True, type=click.Choice(STATUSES))
@selection_options
@json_option
def status(
    new_status: str,
    ids: str | None,
    ids_file: Any,
    filters: tuple[str, ...],
    every: bool,
    as_json: bool,
) -> None:
    """Give the selected mailboxes the status --status."""
    selection = selection_from(ids, ids_file, filters, every)
    wanted = actions.BulkStatus(selection, new_status)
    done = actions.bulk_status(get_store(), actor(), wanted)
    if as_json:
        print_json(
            {
                "reference": done.reference,
                "status": new_status,
                "changed": [m.id for m in done.changed],
                "unchanged": [m.id for m in done.unchanged],
            }
        )
        return
    click.echo(
        f"Status {new_status}: {len(done.changed)} mailboxes changed, "
        f"{len(done.unchanged)} already had it (audit reference {done.reference})"
    )


def _brief(m: Mailbox) -> dict[str, str]:
    return {"id": m.id, "name": m.name, "status": m.status}


def _table(mailboxes: list[Mailbox]) -> None:
    print_table(
        ["ID", "STATUS", "MESSAGES", "NAME"],
        [[m.id, m.status, str(m.messages), m.name] for m in mailboxes],
    )


@bulk.command("delete")
@selection_options
@click.option(
    "--confirm",
    "typed",
    default=None,
    metavar="COUNT",
    help="The number of mailboxes to delete, as a run without it prints.",
)
@json_option
def delete(
    ids: str | None,
    ids_file: Any,
    filters: tuple[str, ...],
    every: bool,
    typed: str | None,
    as_json: bool,
) -> None:
    """Delete the selected mailboxes that are on hold or disabled, with their messages.

    The others are kept and listed. Without --confirm (or with a wrong count) nothing
    is deleted: the command lists what it would delete and the count to confirm with.
    """
    selection = selection_from(ids, ids_file, filters, every)
    store = get_store()
    plan = actions.plan_bulk_delete(store, actor(), selection)
    if plan.deletable and typed is None:
        if as_json:
            print_json(
                {
                    "confirm": plan.confirmation,
                    "deletable": [_brief(m) for m in plan.deletable],
                    "kept": [_brief(m) for m in plan.kept],
                }
            )
            raise fail(f"nothing deleted: confirm with --confirm {plan.confirmation}")
        click.echo(f"Would delete {len(plan.deletable)} mailboxes ({plan.messages} messages):")
        _table(plan.deletable)
        if plan.kept:
            click.echo(f"Would keep {len(plan.kept)} (neither on hold nor disabled):")
            _table(plan.kept)
        raise fail(f"nothing deleted: confirm with --confirm {plan.confirmation}")
    done = actions.bulk_delete(store, actor(), actions.BulkDelete(selection, typed))
    if as_json:
        print_json(
            {
                "reference": done.reference,
                "deleted": [m.id for m in done.deleted],
                "kept": [_brief(m) for m in done.kept],
                "messages_destroyed": done.messages_destroyed,
            }
        )
        return
    click.echo(
        f"Deleted {len(done.deleted)} mailboxes and {done.messages_destroyed} messages"
        f" (audit reference {done.reference})"
    )
    if done.kept:
        click.echo(f"Kept {len(done.kept)} (neither on hold nor disabled):")
        _table(done.kept)
