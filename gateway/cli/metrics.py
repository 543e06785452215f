"""`gateway metrics token`: the bearer token Prometheus sends to /metrics."""

from __future__ import annotations

import click

from storage import actions

from ..metrics_token import metrics_token
from .common import actor, json_option, print_json, state


@click.group()
def metrics() -> None:
    """Prometheus metrics (/metrics on the web console's listener)."""


@metrics.command("token")
@json_option
def token(as_json: bool) -> None:
    """Print the bearer token /metrics requires, the one `gateway serve` uses.

    It is web.metrics_token, else the content of web.metrics_token_file, else
    DATA/secrets/metrics-token (made now if the gateway has not started yet). Save it
    for Prometheus with: gateway metrics token > /etc/prometheus/journal-gateway.token
    """
    cli = state()
    found = metrics_token(cli.settings, cli.data_dir)
    actions.reveal_metrics_token(cli.store, actor(), actions.RevealMetricsToken(found.source))
    if as_json:
        print_json({"token": found.value, "source": found.source})
    else:
        click.echo(found.value)
