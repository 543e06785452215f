"""`gateway admin create|list|reset-password|disable-totp`: web console accounts."""

from __future__ import annotations

import click

from storage.models import ROLES

from .admin_token import token
from .common import audit, fail, get_store, json_option, print_json, print_table
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
    store = get_store()
    if role == "domain-admin" and not domains:
        raise fail("a domain-admin needs at least one --domain")
    canonical = [store.domains.get(d).name for d in domains]
    account, password = store.admins.create(name, role=role, domains=canonical)
    audit("admin.create", account.name, f"role={account.role}")
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
    store = get_store()
    account = store.admins.get(name)
    password = store.admins.set_password(account.name)
    audit("admin.reset_password", account.name)
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
    store = get_store()
    account = store.admins.get(name)
    store.admins.set_totp(account.name, None, [])
    audit("admin.disable_totp", account.name)
    click.echo(f"Two-factor login is off for {account.name}; they can enrol again at next login.")
