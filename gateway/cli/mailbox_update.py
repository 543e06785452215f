"""`gateway mailbox update`: status, quota, networks, protocols, name and aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from storage import policy
from storage.models import STATUSES, Mailbox
from storage.policy import OPERATOR

from .common import audit, fail, get_store, json_option, print_json
from .params import BYTE_SIZE, PROTOCOL_LIST
from .views import mailbox_document, print_mailbox


@click.command("update")
@click.argument("mailbox_ref", metavar="ID")
@click.option("--status", type=click.Choice(STATUSES), help="New status.")
@click.option("--quota", type=BYTE_SIZE, help="Quota in bytes (500M, 10G; 0 = unlimited).")
@click.option(
    "--allow-network",
    "networks",
    multiple=True,
    metavar="CIDR",
    help="Allow POP3/IMAP logins only from these networks (repeatable; replaces the list).",
)
@click.option("--clear-networks", is_flag=True, help="Allow logins from any network again.")
@click.option("--name", help="New display name.")
@click.option("--description", help="New description.")
@click.option("--add-alias", "add_aliases", multiple=True, metavar="ADDR", help="Add an alias.")
@click.option(
    "--remove-alias", "remove_aliases", multiple=True, metavar="ADDR", help="Remove an alias."
)
@click.option(
    "--protocols",
    type=PROTOCOL_LIST,
    help="Retrieval protocols allowed: pop3,imap, one of them, or none.",
)
@click.option(
    "--passphrase-max-age",
    "max_age",
    type=click.Choice(list(policy.MAX_AGE_CHOICES), case_sensitive=False),
    help="Report the passphrase as overdue after 3, 6 or 12 months (never blocks retrieval).",
)
@click.option(
    "--reset-lock",
    type=click.Choice(["on", "off"]),
    help="on: passphrase resets need a superadmin and a typed confirmation; off: clear it.",
)
@json_option
def update(
    mailbox_ref: str,
    networks: tuple[str, ...],
    clear_networks: bool,
    add_aliases: tuple[str, ...],
    remove_aliases: tuple[str, ...],
    max_age: str | None,
    reset_lock: str | None,
    as_json: bool,
    **changes: Any,
) -> None:
    """Change the mailbox ID. Either every change is applied or none is."""
    if networks and clear_networks:
        raise click.UsageError("use either --allow-network or --clear-networks, not both")
    fields = {k: v for k, v in changes.items() if v is not None}
    if networks or clear_networks:
        fields["allowed_networks"] = list(networks)
    if not (fields or add_aliases or remove_aliases or max_age or reset_lock):
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    store = get_store()
    before = store.mailboxes.get(mailbox_ref)
    mailbox_id = before.id
    settings = _policy_changes(before, max_age, reset_lock)
    if settings:
        fields["settings_update"] = settings
    _apply(store, mailbox_id, fields, add_aliases, remove_aliases)
    changed = [k for k in fields if k != "settings_update"]
    if changed or add_aliases or remove_aliases:
        audit(
            "mailbox.update",
            mailbox_id,
            ",".join(sorted([*changed, *_alias_keys(add_aliases, remove_aliases)])),
        )
    _audit_policy(mailbox_id, settings)
    mailbox = store.mailboxes.get(mailbox_id)
    sealed = store.keys.sealed_message_count(mailbox_id)
    if as_json:
        print_json(mailbox_document(mailbox, sealed))
    else:
        click.echo(f"Updated mailbox {mailbox_id}")
        print_mailbox(mailbox, sealed, store.keys.list_epochs(mailbox_id))


def _policy_changes(mailbox: Mailbox, max_age: str | None, reset_lock: str | None) -> dict:
    """The settings keys to change (storage/policy.py); the CLI acts as a superadmin."""
    settings: dict[str, Any] = {}
    if max_age is not None:
        days = policy.parse_max_age(max_age)
        if days != policy.max_age_days(mailbox):
            settings |= policy.max_age_update(days)
    if reset_lock is not None:
        lock = reset_lock == "on"
        if not policy.may_change_reset_lock(policy.CLI_ROLE, mailbox, lock):
            raise fail("only a superadmin can clear the reset lock")  # pragma: no cover
        if lock != policy.reset_locked(mailbox):
            settings |= policy.reset_lock_update(lock)
    return settings


def _audit_policy(mailbox_id: str, settings: dict) -> None:
    if policy.MAX_AGE_KEY in settings:
        days = settings[policy.MAX_AGE_KEY]
        audit(policy.AUDIT_MAX_AGE, mailbox_id, f"days={days or 'none'}")
    if policy.RESET_LOCK_KEY in settings:
        audit(policy.reset_lock_audit(bool(settings[policy.RESET_LOCK_KEY])), mailbox_id)


def _alias_keys(added: tuple[str, ...], removed: tuple[str, ...]) -> list[str]:
    return (["add_alias"] if added else []) + (["remove_alias"] if removed else [])


def _apply(
    store: Any,
    mailbox_id: str,
    fields: dict[str, Any],
    add_aliases: tuple[str, ...],
    remove_aliases: tuple[str, ...],
) -> None:
    """Alias changes one by one, then the fields in one atomic update; undo on failure."""
    undo: list[Callable[[], object]] = []
    try:
        for address in remove_aliases:
            store.mailboxes.remove_alias(mailbox_id, address)
            undo.append(lambda a=address: store.mailboxes.add_alias(mailbox_id, a, actor=OPERATOR))
        for address in add_aliases:
            store.mailboxes.add_alias(mailbox_id, address, actor=OPERATOR)
            undo.append(lambda a=address: store.mailboxes.remove_alias(mailbox_id, a))
        if fields:
            store.mailboxes.update(mailbox_id, **fields)
    except BaseException:
        for step in reversed(undo):
            step()
        raise
