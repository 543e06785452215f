"""`gateway serve`: placeholder until the serve composition lands (owned by the lead)."""

from __future__ import annotations

import click


@click.command()
def serve() -> None:
    """Run every configured listener in one process."""
    raise click.ClickException("serve is not wired yet")
