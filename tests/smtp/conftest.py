"""SMTP test fixtures: a real server on an ephemeral loopback port, real clients.

The server runs on the test's event loop: async clients (aiosmtplib, RawClient) run
directly; blocking ones (smtplib, swaks) run via asyncio.to_thread / subprocesses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.smtp import SmtpService, start_smtp

StartSmtp = Callable[..., Awaitable[SmtpService]]


@pytest.fixture
async def start_server(gateway_context) -> Any:
    """start_server(**{"smtp.option": value}) → a running SmtpService, stopped afterwards."""
    services: list[SmtpService] = []

    async def start(**overrides: Any) -> SmtpService:
        if overrides:
            changes = {key.replace(".", "__", 1): value for key, value in overrides.items()}
            gateway_context.settings = gateway_context.settings.replace(**changes)
        service = await start_smtp(gateway_context)
        services.append(service)
        return service

    yield start
    for service in services:
        await service.stop(0)


@pytest.fixture
async def smtp(start_server) -> SmtpService:
    return await start_server()


@pytest.fixture
def mbx(mailbox):
    """The mailbox fixture's Mailbox (its passphrase is mailbox[1])."""
    return mailbox[0]
