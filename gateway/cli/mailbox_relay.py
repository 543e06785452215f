"""`gateway mailbox relay add | list | remove`: where copies of a mailbox's mail go.

Adding or changing a target needs the mailbox passphrase (from a file or standard
input, never argv): the action proves it with an unlock. Removing one does not.
"""

from __future__ import annotations

from pathlib import Path

import click

from storage import actions
from storage.models import RelayTarget
from storage.relay import POLICIES, REQUIRED

from .common import actor, format_time, get_store, json_option, print_json, print_table
from .passphrase_input import passphrase_options, read_passphrase


@click.group("relay")
def relay() -> None:
    """Relay copies of a mailbox's incoming mail to other addresses (at most 20)."""


def target_document(target: RelayTarget) -> dict[str, str | None]:
    return {
        "address": target.address,
        "policy": target.policy,
        "created_by": target.created_by,
        "created": format_time(target.created),
    }


@relay.command("add")
@click.argument("mailbox_ref", metavar="ID")
@click.option("--to", "address", required=True, metavar="ADDR", help="The target address.")
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default=REQUIRED,
    show_default=True,
    help="required: a target's temporary failure makes the sender retry (4xx);"
    " best-effort: the local copy is kept and the miss is counted.",
)
@passphrase_options
@json_option
def add(
    mailbox_ref: str,
    address: str,
    policy: str,
    passphrase_file: Path | None,
    passphrase_stdin: bool,
    as_json: bool,
) -> None:
    """Relay a copy of every incoming message of ID to ADDR (or change its policy).

    Needs the mailbox passphrase: --passphrase-file F or --passphrase-stdin.
    """
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    passphrase = read_passphrase(f"passphrase of {mailbox.id}", passphrase_file, passphrase_stdin)
    request = actions.AddRelayTarget(mailbox.id, address, passphrase, policy)
    done = actions.add_relay_target(store, actor(), request)
    if as_json:
        print_json({"id": mailbox.id, **target_document(done.target), "created_new": done.created})
        return
    verb = "Added" if done.created else "Changed"
    click.echo(f"{verb} relay target {done.target.address} ({done.target.policy}) of {mailbox.id}.")


@relay.command("list")
@click.argument("mailbox_ref", metavar="ID")
@json_option
def list_targets(mailbox_ref: str, as_json: bool) -> None:
    """The relay targets of ID, oldest first."""
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    targets = store.relays.list(mailbox.id)
    if as_json:
        print_json({"id": mailbox.id, "targets": [target_document(t) for t in targets]})
        return
    if not targets:
        click.echo(f"{mailbox.id} relays to no address.")
        return
    rows = [[t.address, t.policy, t.created_by, format_time(t.created)] for t in targets]
    print_table(["ADDRESS", "POLICY", "BY", "SINCE"], rows)


@relay.command("remove")
@click.argument("mailbox_ref", metavar="ID")
@click.option("--to", "address", required=True, metavar="ADDR", help="The target to remove.")
@json_option
def remove(mailbox_ref: str, address: str, as_json: bool) -> None:
    """Stop relaying copies of ID's mail to ADDR."""
    store = get_store()
    mailbox = store.mailboxes.get(mailbox_ref)
    request = actions.RemoveRelayTarget(mailbox.id, address)
    done = actions.remove_relay_target(store, actor(), request)
    if as_json:
        print_json({"id": mailbox.id, "removed": done.target.address})
        return
    click.echo(f"Removed relay target {done.target.address} of {mailbox.id}.")
