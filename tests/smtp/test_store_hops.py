"""How many store-pool jobs one small message costs (each is a thread hop and a wake-up).

Relaying is a feature of few mailboxes; a mailbox without relay targets must not pay
for it on the DATA path: its RCPT hop answers "no targets" and DATA makes no store
call for relaying.
"""

from __future__ import annotations

import aiosmtplib

MESSAGE = b"Subject: hops\r\n\r\nsmall body\r\n"


def count_jobs(monkeypatch, gateway_context) -> list[str]:
    """Every job submitted to the store pool from now on, by function name."""
    executor = gateway_context.store._executor
    real_submit = executor.submit
    jobs: list[str] = []

    def submit(fn, *args, **kwargs):
        job = getattr(fn, "func", fn)  # run_in passes a functools.partial
        jobs.append(job.__qualname__)
        return real_submit(fn, *args, **kwargs)

    monkeypatch.setattr(executor, "submit", submit)
    return jobs


async def send_one(smtp, recipient: str) -> int:
    host, port = smtp.addresses[0]
    async with aiosmtplib.SMTP(hostname=host, port=port, start_tls=False) as client:
        await client.mail("journal@tenant.example")
        await client.rcpt(recipient)
        reply = await client.data(MESSAGE)
        return reply.code


async def test_a_small_message_to_a_mailbox_without_relay_targets_costs_two_store_jobs(
    smtp, mbx, store, monkeypatch, gateway_context
):
    await send_one(smtp, mbx.address)  # warm-up: first-connection work is not per message
    jobs = count_jobs(monkeypatch, gateway_context)
    assert await send_one(smtp, mbx.address) == 250
    # RCPT (lookup, quota, relay targets) and the commit (seal, fsync, index): no more.
    assert jobs == ["decide_recipient", "CopySet._commit_sync"], jobs
    assert len(store.messages.list(mbx.id)) == 2


async def test_a_mailbox_with_relay_targets_still_reads_them_at_data(
    smtp, mbx, store, monkeypatch, gateway_context
):
    store.relays.put(mbx.id, "archive@elsewhere.example", "best-effort", "root")
    jobs = count_jobs(monkeypatch, gateway_context)
    assert await send_one(smtp, mbx.address) == 250  # no smarthost: best-effort misses
    assert jobs[0] == "decide_recipient"
    assert "RelaySet.prepare.<locals>.load" in jobs, jobs
    assert len(store.messages.list(mbx.id)) == 1
