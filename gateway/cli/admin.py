"""`gateway admin create|list|reset-password|disable-totp|delete`: console accounts."""

from __future__ import annotations

import click

from storage import actions
from storage.errors import InvalidInput
from storage.models import ROLES

from .admin_token import token
from .common import actor, confirm, fail, get_store, json_option, print_json, print_table
from .views import PASSWORD_WARNING, admin_document, reveal_secret


@click.group()
def admin() -> None:
    """Manage administrator accounts of the web console."""


admin.add_command(token)


@admin.command("create")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(ROLES), default="superadmin", show_default=True, help="Role."
)
@click.option(
    "--domain",
    "domains",
    multiple=True,
    metavar="D",
    help="Domain a domain-admin or viewer may manage (repeatable).",
)
@json_option
def create(name: str, role: str, domains: tuple[str, ...], as_json: bool) -> None:
    """Create the admin NAME with a random password, printed once."""
    wanted = actions.CreateAdmin(name, role, domains)
    try:
        created = actions.create_admin(get_store(), actor(), wanted)
    except InvalidInput as exc:
        if role == "domain-admin" and not domains:  # the CLI's word for it is --domain
            raise fail("a domain-admin needs at least one --domain") from None
        raise fail(str(exc)) from None
    account, password = created.admin, created.password
    reveal_secret(
        as_json,
        {"name": account.name, "role": account.role, "password": password},
        [f"Created admin {account.name} ({account.role})"],
        "Password",
        password,
        PASSWORD_WARNING,
    )


@admin.command("list")
@json_option
def list_admins(as_json: bool) -> None:
    """List admin accounts."""
    admins = get_store().admins.list()
    if as_json:
        print_json([admin_document(a) for a in admins])
        return
    if not admins:
        click.echo("No admins. Create one with: gateway admin create NAME")
        return
    print_table(
        ["NAME", "ROLE", "DOMAINS", "TOTP", "STATE"],
        [
            [
                a.name,
                a.role,
                ",".join(a.domains) or "-",
                "on" if a.totp_enabled else "off",
                "disabled" if a.disabled else "enabled",
            ]
            for a in admins
        ],
    )


@admin.command("reset-password")
@click.argument("name")
@json_option
def reset_password(name: str, as_json: bool) -> None:
    """Give the admin NAME a new random password, printed once."""
    reset_done = actions.reset_admin_password(
        get_store(), actor(), actions.ResetAdminPassword(name)
    )
    account, password = reset_done.admin, reset_done.password
    reveal_secret(
        as_json,
        {"name": account.name, "password": password},
        [f"Reset the password of {account.name}"],
        "New password",
        password,
        PASSWORD_WARNING,
    )


@admin.command("disable-totp")
@click.argument("name")
def disable_totp(name: str) -> None:
    """Turn off two-factor login for NAME (e.g. after a lost phone)."""
    account = actions.reset_totp(get_store(), actor(), actions.AdminName(name))
    click.echo(f"Two-factor login is off for {account.name}; they can enrol again at next login.")


@admin.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete the admin NAME, its sessions and its API tokens."""
    confirm(f"Delete the admin {name}, its sessions and its API tokens?", yes, "delete an admin")
    actions.delete_admin(get_store(), actor(), actions.AdminName(name))
    click.echo(f"Deleted admin {name}")
