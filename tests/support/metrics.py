"""Read a sample of the gateway's /metrics registry, under its exported name."""

from __future__ import annotations

from gateway.context import GatewayContext


def metric(ctx: GatewayContext, name: str, **labels: str) -> float:
    """`journal_gateway_<name>` with `labels`, as a scrape shows it; 0 when not exported."""
    value = ctx.metrics.registry.get_sample_value(f"journal_gateway_{name}", labels)
    return value or 0.0
