"""How mailboxes and admins look on the terminal and in JSON."""

from __future__ import annotations

import time
from typing import Any

import click

from storage import Admin, EpochInfo, Mailbox
from storage.policy import hand_overs, max_age_choice, passphrase_age, reset_locked

from .common import format_bytes, format_time, print_json

# Warning texts, not secrets (ruff's S105 looks at the names).
ONCE_ONLY = "This passphrase is shown only once and is NOT stored anywhere."
PASSPHRASE_WARNING = f"{ONCE_ONLY} Without it the mail in this mailbox cannot be read."
PASSWORD_WARNING = "This password is shown only once and is not stored in clear."  # noqa: S105


def _identity(mailbox: Mailbox) -> dict[str, Any]:
    """The keys every JSON form of a mailbox starts with."""
    return {
        "id": mailbox.id,
        "name": mailbox.name,
        "domain": mailbox.domain,
        "address": mailbox.address,
        "addresses": list(mailbox.addresses),
    }


def mailbox_document(mailbox: Mailbox, sealed_messages: int) -> dict[str, Any]:
    """The JSON form of a mailbox (`mailbox list` and `mailbox show`)."""
    return {
        **_identity(mailbox),
        "aliases": list(mailbox.aliases),
        "status": mailbox.status,
        "messages": mailbox.messages,
        "bytes": mailbox.bytes,
        "quota": mailbox.quota,
        "sealed_messages": sealed_messages,
        "description": mailbox.description,
        "allowed_networks": list(mailbox.allowed_networks),
        "protocols": list(mailbox.protocols),
        "created": format_time(mailbox.created),
        "last_login": format_time(mailbox.last_login),
        **passphrase_age(mailbox, time.time()).document(),
        "reset_locked": reset_locked(mailbox),
        "handed_over": [h.document() for h in hand_overs(mailbox)],
    }


def created_document(mailbox: Mailbox, passphrase: str) -> dict[str, Any]:
    """Exactly the `mailbox create --json` contract (DESIGN §6)."""
    return {
        **_identity(mailbox),
        "status": mailbox.status,
        "passphrase": passphrase,
    }


def epoch_document(epoch: EpochInfo) -> dict[str, Any]:
    return {
        "number": epoch.number,
        "kind": epoch.kind,
        "recipient": epoch.recipient,
        "state": epoch.state,
        "created": format_time(epoch.created),
        "messages": epoch.messages,
    }


def admin_document(admin: Admin) -> dict[str, Any]:
    return {
        "name": admin.name,
        "role": admin.role,
        "domains": list(admin.domains),
        "disabled": admin.disabled,
        "totp_enabled": admin.totp_enabled,
        "created": format_time(admin.created),
    }


def quota_text(quota: int) -> str:
    return "unlimited" if quota == 0 else format_bytes(quota)


def reveal_secret(
    as_json: bool, document: dict[str, Any], lines: list[str], kind: str, secret: str, warning: str
) -> None:
    """Print a new passphrase, password or token once: as the JSON `document` (which
    holds it), or as `lines` followed by "kind: secret". The warning goes to stderr."""
    if as_json:
        print_json(document)
    else:
        for line in lines:
            click.echo(line)
        click.echo(f"{kind}: {secret}")
    click.secho(f"WARNING: {warning}", err=True, fg="yellow")


def _policy_lines(mailbox: Mailbox) -> list[tuple[str, str]]:
    age = passphrase_age(mailbox, time.time())
    max_age = max_age_choice(age.max_age_days)
    overdue = " (OVERDUE: change the passphrase)" if age.overdue else ""
    return [
        ("passphrase set", (format_time(age.changed) or "-") + overdue),
        ("max passphrase age", max_age),
        ("reset lock", "on" if reset_locked(mailbox) else "off"),
    ]


def print_mailbox(mailbox: Mailbox, sealed: int, epochs: list[EpochInfo]) -> None:
    lines = [
        ("id", mailbox.id),
        ("name", mailbox.name),
        ("description", mailbox.description or "-"),
        ("domain", mailbox.domain),
        ("address", mailbox.address),
        ("aliases", ", ".join(mailbox.aliases) or "-"),
        ("status", mailbox.status),
        ("messages", str(mailbox.messages)),
        ("stored", format_bytes(mailbox.bytes)),
        ("quota", quota_text(mailbox.quota)),
        ("sealed messages", str(sealed)),
        ("allowed networks", ", ".join(mailbox.allowed_networks) or "any"),
        ("protocols", ", ".join(mailbox.protocols) or "none"),
        ("created", format_time(mailbox.created) or "-"),
        ("last login", format_time(mailbox.last_login) or "never"),
        *_policy_lines(mailbox),
        *(
            ("handed over", f"from {h.source} on {format_time(h.at)}: {', '.join(h.addresses)}")
            for h in hand_overs(mailbox)
        ),
    ]
    for label, value in lines:
        click.echo(f"{label + ':':<20}{value}")
    click.echo("key epochs:")
    for epoch in epochs:
        click.echo(
            f"  {epoch.number}  {epoch.kind:<15} {epoch.state:<8} {epoch.messages} messages"
            f"  created {format_time(epoch.created)}"
        )
