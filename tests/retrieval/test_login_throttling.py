"""Login throttling shared by POP3 and IMAP (gateway/login.py), on real servers.

No lockout: failures from one address, or against one mailbox from many, never refuse
the right passphrase. Each failure delays the answer to its own address only. Unlock
slots go to known addresses first and fairly to the rest; waiting is bounded, and an
attempt over a bound gets the one failure reply while the attempts waiting lose
nothing. Client connections come from real loopback source addresses (127.0.0.N).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from gateway.login import NOT_RUN, LoginPolicy
from gateway.login_scheduler import client_of
from storage import AuditEntry, Store, open_store
from storage.async_store import AsyncStore
from tests.support.argon import FAST_KDF
from tests.support.metrics import metric

from .conftest import IMAP_FAILED, POP3_FAILED, Retrieval

WRONG = "WRONG-WRONG-WRONG-WRONG-WRONG-WRONG"
HOLDER = client_of("10.255.0.1")  # the test itself, holding unlock slots


async def audit_reasons(served: Retrieval) -> list[str]:
    def failed(store: Store) -> list[AuditEntry]:
        return store.audit.list(action="pop3.login-failed") + store.audit.list(
            action="imap.login-failed"
        )

    return [entry.detail for entry in await served.ctx.store.batch(failed)]


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` on the loop (the servers keep running); fail after 20 s."""
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_failures_from_an_address_never_refuse_its_right_passphrase(serve) -> None:
    served = await serve(LoginPolicy(failures_before_delay=1, max_delay=0.01))

    def scenario() -> None:
        for _ in range(12):
            assert served.pop3_login("127.0.0.2", WRONG) == POP3_FAILED
            assert served.imap_login("127.0.0.2", WRONG) == IMAP_FAILED
        assert served.pop3_login("127.0.0.2").startswith("+OK")
        assert served.imap_login("127.0.0.2").startswith("a2 OK")

    await asyncio.to_thread(scenario)
    assert set(await audit_reasons(served)) == {"wrong passphrase"}


async def test_failures_against_a_mailbox_from_many_addresses_lock_out_nobody(serve) -> None:
    served = await serve(LoginPolicy(failures_before_delay=1, max_delay=0.01))
    attackers = [f"127.0.0.{n}" for n in range(2, 12)]

    def scenario() -> None:
        for source in attackers:
            for _ in range(2):
                assert served.pop3_login(source, WRONG) == POP3_FAILED
                assert served.imap_login(source, WRONG) == IMAP_FAILED
        # 40 failures against the mailbox: a fresh address and the usual one still get in
        for source in ("127.0.0.12", "127.0.0.1"):
            assert served.pop3_login(source).startswith("+OK"), source
            assert served.imap_login(source).startswith("a2 OK"), source

    await asyncio.to_thread(scenario)


async def test_the_delay_grows_per_address_and_only_for_that_address(serve) -> None:
    served = await serve(LoginPolicy(failures_before_delay=2, max_delay=0.3))

    def throttled() -> float:
        return metric(served.ctx, "login_throttled_total")

    def fail_from(source: str) -> float:
        started = time.monotonic()
        assert served.pop3_login(source, WRONG) == POP3_FAILED
        return time.monotonic() - started

    await asyncio.to_thread(fail_from, "127.0.0.6")
    assert throttled() == 0  # below failures_before_delay
    assert await asyncio.to_thread(fail_from, "127.0.0.6") >= 0.3  # delayed now
    assert throttled() == 1
    # The mailbox has two failures, but another address has none of its own: no delay.
    await asyncio.to_thread(fail_from, "127.0.0.7")
    assert throttled() == 1
    # The failing address is slowed, never refused: the right passphrase works.
    reply = await asyncio.to_thread(served.pop3_login, "127.0.0.6")
    assert reply.startswith("+OK")


async def test_a_failing_address_over_the_per_address_bound_gets_the_uniform_reply(serve) -> None:
    served = await serve(LoginPolicy(max_concurrent_unlocks=1, max_waiting_per_address=1))
    scheduler = served.authenticator.scheduler
    assert await asyncio.to_thread(served.pop3_login, "127.0.0.2", WRONG) == POP3_FAILED
    with ThreadPoolExecutor(3) as pool:
        async with scheduler.slot(HOLDER, known=False):
            waiting = pool.submit(served.pop3_login, "127.0.0.2")
            await wait_until(lambda: scheduler.waiting == 1, "the first login to wait")
            # the failing address again, right passphrase: no room; the one failure reply
            assert await asyncio.to_thread(served.pop3_login, "127.0.0.2") == POP3_FAILED
            assert await asyncio.to_thread(served.imap_login, "127.0.0.2") == IMAP_FAILED
            # an address without failures is not bound by it: both of its logins wait
            other = pool.submit(served.imap_login, "127.0.0.3")
            await wait_until(lambda: scheduler.waiting == 2, "the other address to wait")
            again = pool.submit(served.imap_login, "127.0.0.3")  # POP3 would meet [IN-USE]
            await wait_until(lambda: scheduler.waiting == 3, "its second login to wait")
        # the waiting attempts lost nothing
        assert (await asyncio.wrap_future(waiting)).startswith("+OK")
        assert (await asyncio.wrap_future(other)).startswith("a2 OK")
        assert (await asyncio.wrap_future(again)).startswith("a2 OK")
    assert (await audit_reasons(served)).count(NOT_RUN) == 2


async def test_a_full_queue_makes_room_for_a_newcomer_not_for_the_flood(serve) -> None:
    served = await serve(LoginPolicy(max_concurrent_unlocks=1, max_waiting=3))
    scheduler = served.authenticator.scheduler
    attackers = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    for source in attackers:  # the attackers have failed before
        assert await asyncio.to_thread(served.pop3_login, source, WRONG) == POP3_FAILED
    with ThreadPoolExecutor(6) as pool:
        async with scheduler.slot(HOLDER, known=False):
            flood: list[Future[str]] = []
            for source in attackers:
                flood.append(pool.submit(served.pop3_login, source, WRONG))
                await wait_until(lambda n=len(flood): scheduler.waiting == n, "the flood")
            # the queue is full; one more attacker gets no place ...
            assert await asyncio.to_thread(served.imap_login, "127.0.0.2", WRONG) == IMAP_FAILED
            # ... a newcomer (same /24, no failures) takes the worst attacker's place
            newcomer = pool.submit(served.imap_login, "127.0.0.9")
            evicted = await asyncio.to_thread(next_done, flood)
            assert evicted.result() == POP3_FAILED
            assert scheduler.waiting == 3
        assert (await asyncio.wrap_future(newcomer)).startswith("a2 OK")
        assert [f.result() for f in flood] == [POP3_FAILED] * 3
    reasons = await audit_reasons(served)
    assert reasons.count(NOT_RUN) == 2  # the one refused and the one evicted
    assert reasons.count("wrong passphrase") == 3 + 2


def next_done(futures: list[Future[str]], timeout: float = 20) -> Future[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for future in futures:
            if future.done():
                return future
        time.sleep(0.01)
    raise AssertionError("no waiting attempt was answered")


async def known_goes_first(served: Retrieval, known: str, strangers: list[str]) -> None:
    """With every slot held and strangers waiting, `known` arrives last, is served first."""
    scheduler = served.authenticator.scheduler
    with ThreadPoolExecutor(len(strangers) + 1) as pool:
        async with scheduler.slot(HOLDER, known=False):
            waiting = [pool.submit(served.pop3_login, s, WRONG) for s in strangers]
            await wait_until(lambda: scheduler.waiting == len(strangers), "the strangers")
            archiver = pool.submit(served.pop3_login, known)
            await wait_until(lambda: scheduler.waiting_known == 1, "the known address")
        # leaving the block handed the slot over: to the known address, past the strangers
        assert scheduler.waiting_known == 0
        assert scheduler.waiting_strangers == len(strangers)
        assert (await asyncio.wrap_future(archiver)).startswith("+OK")
        for future in waiting:
            assert (await asyncio.wrap_future(future)) == POP3_FAILED


async def test_a_known_address_goes_first_and_is_still_known_after_a_restart(
    serve, store, data_dir, mailbox
) -> None:
    # without the unlock cache: the known address's repeat logins must queue for Argon2id
    policy = LoginPolicy(max_concurrent_unlocks=1, unlock_cache_ttl=0)
    served = await serve(policy)
    assert (await asyncio.to_thread(served.pop3_login, "127.0.0.9")).startswith("+OK")
    strangers = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    await known_goes_first(served, "127.0.0.9", strangers)

    # A restart: new store on the same data directory, new Authenticator, new servers.
    await served.stop()
    store.close()
    reopened = AsyncStore(open_store(data_dir, kdf=FAST_KDF))
    try:
        assert await reopened.login_clients.is_known(mailbox[0].id, "127.0.0.9")
        restarted = await serve(policy, reopened)
        await known_goes_first(restarted, "127.0.0.9", strangers)
        await restarted.stop()
    finally:
        reopened.close()


async def test_a_reset_passphrase_makes_the_known_address_a_stranger(serve, store) -> None:
    served = await serve(LoginPolicy(max_concurrent_unlocks=1))
    assert (await asyncio.to_thread(served.imap_login, "127.0.0.9")).startswith("a2 OK")
    store.keys.reset_passphrase(served.mailbox_id)
    scheduler = served.authenticator.scheduler
    async with scheduler.slot(HOLDER, known=False):
        attempt = asyncio.create_task(asyncio.to_thread(served.imap_login, "127.0.0.9"))
        await wait_until(lambda: scheduler.waiting == 1, "the attempt to wait")
        assert scheduler.waiting_strangers == 1
    assert await attempt == IMAP_FAILED  # the old passphrase, and no priority any more
