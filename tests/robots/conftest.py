"""Robot tests: the gateway's SMTP on loopback, and a real SMTP server (aiosmtpd, with
STARTTLS) on another loopback port as the smarthost, which records what it receives."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.smtp import start_smtp
from storage import actions
from tests.support.ports import free_port

WAIT_LIMIT = 20.0  # seconds a background reply may take on a loaded machine


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    tls: bool

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data, policy=default)


@dataclass
class Smarthost:
    port: int
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        item = Received(
            envelope.mail_from or "", list(envelope.rcpt_tos), content, session.ssl is not None
        )
        with self.lock:
            self.received.append(item)
        return "250 2.0.0 queued"


@pytest.fixture
def smarthost(tls_files):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(tls_files[0]), str(tls_files[1]))
    sink = Smarthost(free_port())
    controller = Controller(
        sink, hostname="127.0.0.1", port=sink.port, tls_context=context, require_starttls=True
    )
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
async def gateway(gateway_context, smarthost):
    """The gateway's SMTP service, sending robot replies through `smarthost`."""
    gateway_context.settings = gateway_context.settings.replace(
        relay__smarthost=f"127.0.0.1:{smarthost.port}", relay__tls="required", relay__timeout=10.0
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
