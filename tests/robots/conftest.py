"""Robot tests: the gateway's SMTP on loopback, and a real Postfix (tests/support/
postfix.py) as the smarthost, delivering every reply for target.test into a Maildir.

Senders of the test mail are addresses @target.test, so that a reply the robot sends
arrives in that Maildir. Each test uses its own sender addresses, and one Postfix serves
the whole module."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from email import message_from_bytes
from email.message import Message
from email.policy import default

import pytest

from gateway.smtp import start_smtp
from storage import actions
from tests.support.postfix import Postfix

WAIT_LIMIT = 30.0  # seconds a background reply may take on a loaded machine


@pytest.fixture(scope="module")
def postfix(tls_files):
    server = Postfix(*tls_files)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def gateway(gateway_context, postfix, ca_pem):
    """The gateway's SMTP service, sending robot replies through Postfix (STARTTLS,
    certificate verified)."""
    gateway_context.settings = gateway_context.settings.replace(
        relay__smarthost=f"127.0.0.1:{postfix.tls_port}",
        relay__tls="verify",
        relay__ca_file=str(ca_pem),
        relay__timeout=10.0,
    )
    service = await start_smtp(gateway_context)
    yield service
    await service.stop(5)


def set_robot(store, mailbox_id: str, **fields) -> None:
    wanted = actions.SetRobot(
        mailbox_id,
        fields.pop("subject", "We received your message"),
        fields.pop("text", "Thank you. A person reads this address on weekdays."),
        **fields,
    )
    actions.set_robot(store, actions.Actor.operator("test"), wanted)


def counted(ctx, result: str, reason: str) -> float:
    value = ctx.metrics.registry.get_sample_value(
        "journal_gateway_robot_replies_total", {"result": result, "reason": reason}
    )
    return value or 0.0


async def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def replies_to(postfix: Postfix, address: str, count: int = 1) -> list[Message]:
    """The replies Postfix delivered for `address`, once `count` are there."""
    found = await asyncio.to_thread(postfix.wait_delivered, address, count, WAIT_LIMIT)
    return [message_from_bytes(raw, policy=default) for raw in found]
