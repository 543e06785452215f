"""Route tables, one module per area of the console and the API."""

from __future__ import annotations

from aiohttp import web

from . import (
    admins,
    api,
    api_bulk,
    api_mailboxes,
    api_relays,
    api_robots,
    api_sources,
    audit,
    auth,
    connect,
    domains,
    mailbox_policy,
    mailbox_relays,
    mailbox_robot,
    mailbox_settings,
    mailbox_sources,
    mailboxes,
    mailboxes_bulk,
    passphrase,
    settings,
    totp,
)

ROUTE_TABLES: list[web.RouteTableDef] = [
    auth.routes,
    domains.routes,
    mailboxes.routes,
    mailboxes_bulk.routes,
    mailbox_settings.routes,
    mailbox_relays.routes,
    mailbox_policy.routes,
    mailbox_robot.routes,
    mailbox_sources.routes,
    passphrase.routes,
    connect.routes,
    settings.routes,
    totp.routes,
    admins.routes,
    audit.routes,
    api.routes,
    api_mailboxes.routes,
    api_bulk.routes,
    api_relays.routes,
    api_robots.routes,
    api_sources.routes,
]
