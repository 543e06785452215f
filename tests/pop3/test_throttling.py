"""Failed logins are throttled per client IP and per mailbox (strict policy, real sessions).

Every test connection comes from loopback; distinct client IPs are real source addresses
(127.0.0.2, 127.0.0.3 are loopback too on Linux).
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from gateway.login import Authenticator, LoginPolicy

from .conftest import Pop3Server, RawClient, make_server

FAILED = "-ERR [AUTH] authentication failed"
STRICT = LoginPolicy(failures_before_delay=1, max_delay=0.01, lockout_failures=3, window=900.0)


@pytest.fixture
async def strict(gateway_context, store, data_dir, mailbox):
    ctx = dataclasses.replace(
        gateway_context, authenticator=Authenticator(gateway_context.store, STRICT)
    )
    server = await make_server(ctx, store, data_dir, mailbox)
    yield server
    await server.service.stop(0)


def attempt(server: Pop3Server, tls, source: str, user: str, passphrase: str) -> str:
    client = RawClient(server.stls_port, source=source)
    client.starttls(tls)
    reply = client.login(user, passphrase)
    if not client.cmd("QUIT").startswith("+OK"):
        raise AssertionError("QUIT failed")
    return reply


async def test_lockout_per_client_ip(strict: Pop3Server, client_tls) -> None:
    def scenario() -> None:
        for _ in range(3):
            assert (
                attempt(strict, client_tls, "127.0.0.2", "nobody@example.test", "x" * 30) == FAILED
            )
        # the right passphrase from the locked-out address: the same refusal
        assert (
            attempt(strict, client_tls, "127.0.0.2", strict.mailbox_id, strict.passphrase) == FAILED
        )
        # from another address the mailbox is unaffected
        assert attempt(strict, client_tls, "127.0.0.3", strict.alias, strict.passphrase).startswith(
            "+OK"
        )

    await asyncio.to_thread(scenario)
    assert strict.ctx.authenticator.throttled_total >= 3
    reasons = [e.detail for e in strict.store.list_audit(action="pop3.login-failed")]
    assert "too many failures: temporarily refused" in reasons


async def test_lockout_per_mailbox(strict: Pop3Server, client_tls) -> None:
    def scenario() -> None:
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            assert attempt(strict, client_tls, source, strict.alias, "y" * 30) == FAILED
        # the mailbox is locked, whatever the address and even with the right passphrase
        for source in ("127.0.0.5", "127.0.0.1"):
            assert (
                attempt(strict, client_tls, source, strict.mailbox_id, strict.passphrase) == FAILED
            )

    await asyncio.to_thread(scenario)


async def test_delay_counts_grow_with_failures(strict: Pop3Server, client_tls) -> None:
    authenticator = strict.ctx.authenticator

    def one_failure() -> None:
        assert attempt(strict, client_tls, "127.0.0.6", strict.mailbox_id, "z" * 30) == FAILED

    await asyncio.to_thread(one_failure)
    assert authenticator.throttled_total == 1  # failures_before_delay=1: delayed from the first
    await asyncio.to_thread(one_failure)
    assert authenticator.throttled_total == 2
