"""`gateway admin token create|list|revoke`: named API tokens for /api/v1 automation."""

from __future__ import annotations

import time

import click

from storage import actions

from .common import actor, get_store, json_option, print_json, print_table
from .views import reveal_secret

TOKEN_WARNING = "This token is shown only once; only its hash is stored."  # noqa: S105


@click.group()
def token() -> None:
    """Manage API tokens (Authorization: Bearer) for the JSON API."""


@token.command("create")
@click.argument("name")
@click.option(
    "--admin",
    "admin_name",
    required=True,
    metavar="ADMIN",
    help="The admin the token acts as (its role and domains apply).",
)
@json_option
def create(name: str, admin_name: str, as_json: bool) -> None:
    """Create the API token NAME for ADMIN; the secret is printed once."""
    wanted = actions.CreateToken(name, owner=admin_name)
    made = actions.create_token(get_store(), actor(), wanted)
    created, secret = made.token, made.secret
    reveal_secret(
        as_json,
        {"id": created.id, "name": created.name, "admin": created.admin, "token": secret},
        [f"Created API token {created.id} ({created.name}) for {created.admin}"],
        "Token",
        secret,
        TOKEN_WARNING,
    )


@token.command("list")
@click.option("--admin", "admin_name", default=None, metavar="ADMIN", help="Only this admin's.")
@json_option
def list_tokens(admin_name: str | None, as_json: bool) -> None:
    """List API tokens (never their secrets)."""
    tokens = get_store().tokens.list(admin_name)
    documents = [
        {
            "id": t.id,
            "name": t.name,
            "admin": t.admin,
            "created": t.created,
            "last_used": t.last_used,
        }
        for t in tokens
    ]
    if as_json:
        print_json(documents)
        return
    if not tokens:
        click.echo("No API tokens.")
        return
    print_table(
        ["ID", "NAME", "ADMIN", "LAST USED"],
        [[t.id, t.name, t.admin, _when(t.last_used)] for t in tokens],
    )


@token.command("revoke")
@click.argument("token_id")
def revoke(token_id: str) -> None:
    """Revoke the API token TOKEN_ID (e.g. tok-…); clients using it get 401 at once."""
    actions.revoke_token(get_store(), actor(), actions.RevokeToken(token_id))
    click.echo(f"Revoked {token_id}")


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(stamp)) if stamp else "never"
