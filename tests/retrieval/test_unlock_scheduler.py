"""The fair unlock scheduler on its own (gateway/login_scheduler.py): who gets a slot
next, who loses a place when the queue is full, and that no slot is ever lost.

Waiters are real tasks on the test's loop; the test holds slots itself to make them
wait, and records the order in which slots are handed out.
"""

from __future__ import annotations

import asyncio

import pytest

from gateway.login import FailureCounter
from gateway.login_scheduler import Client, QueueFull, UnlockScheduler, client_of

HOLDER = client_of("192.0.2.250")


class Waiters:
    """Tasks that each take a slot, note their name, and leave at once."""

    def __init__(self, scheduler: UnlockScheduler) -> None:
        self.scheduler = scheduler
        self.order: list[str] = []
        self.refused: list[str] = []
        self.tasks: list[asyncio.Task] = []

    async def add(self, name: str, ip: str, known: bool = False) -> asyncio.Task:
        before = self.scheduler.waiting
        task = asyncio.create_task(self._take(name, client_of(ip), known))
        self.tasks.append(task)
        for _ in range(10):  # until it waits (or was refused)
            await asyncio.sleep(0)
            if self.scheduler.waiting != before or task.done():
                break
        return task

    async def _take(self, name: str, client: Client, known: bool) -> None:
        try:
            async with self.scheduler.slot(client, known):
                self.order.append(name)
        except QueueFull:
            self.refused.append(name)

    async def finish(self) -> None:
        await asyncio.wait_for(asyncio.gather(*self.tasks), 10)


async def all_slots_free(scheduler: UnlockScheduler, slots: int) -> bool:
    """All `slots` can be taken at once without waiting (none was lost or leaked)."""
    held = []
    for n in range(slots):
        context = scheduler.slot(client_of(f"198.18.0.{n + 1}"), False)
        await asyncio.wait_for(context.__aenter__(), 1)
        held.append(context)
    extra = asyncio.create_task(scheduler.slot(client_of("198.18.1.1"), False).__aenter__())
    await asyncio.sleep(0)
    waits = scheduler.waiting == 1
    extra.cancel()
    await asyncio.gather(extra, return_exceptions=True)
    for context in held:
        await context.__aexit__(None, None, None)
    return waits and scheduler.waiting == 0


def test_clients_are_grouped_by_ipv4_24_and_ipv6_64() -> None:
    assert client_of("203.0.113.77") == Client("203.0.113.77", "203.0.113.0/24")
    assert client_of("::ffff:203.0.113.77") == Client("203.0.113.77", "203.0.113.0/24")
    assert client_of("2001:db8:1:2:aaaa::1") == Client("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64")
    assert client_of("2001:DB8:1:2::0001").address == "2001:db8:1:2::1"
    assert client_of("not-an-ip") == Client("not-an-ip", "not-an-ip")


async def test_slots_go_round_robin_across_networks_then_addresses() -> None:
    scheduler = UnlockScheduler(slots=1, max_waiting=100, per_address=8)
    waiters = Waiters(scheduler)
    async with scheduler.slot(HOLDER, False):
        for n in range(3):
            await waiters.add(f"a1-{n}", "10.0.0.1")
        await waiters.add("a2", "10.0.0.2")
        await waiters.add("b1", "10.0.1.1")
        await waiters.add("v6", "2001:db8::1")
        await waiters.add("v6-same-64", "2001:db8::2")
        assert scheduler.waiting == 7
    await waiters.finish()
    assert waiters.order == ["a1-0", "b1", "v6", "a2", "v6-same-64", "a1-1", "a1-2"]


async def test_known_clients_are_served_before_strangers() -> None:
    scheduler = UnlockScheduler(slots=1, max_waiting=100, per_address=8)
    waiters = Waiters(scheduler)
    async with scheduler.slot(HOLDER, False):
        await waiters.add("stranger-1", "10.0.0.1")
        await waiters.add("stranger-2", "10.0.1.1")
        await waiters.add("known", "10.0.2.1", known=True)
    await waiters.finish()
    assert waiters.order == ["known", "stranger-1", "stranger-2"]


async def test_a_new_address_in_a_flooded_network_waits_one_round_not_for_the_flood() -> None:
    scheduler = UnlockScheduler(slots=1, max_waiting=1000, per_address=8)
    waiters = Waiters(scheduler)
    async with scheduler.slot(HOLDER, False):
        for n in range(1, 101):  # 100 attacking addresses, 5 attempts each, one /24
            for k in range(5):
                await waiters.add(f"attack-{n}-{k}", f"10.0.0.{n}")
        await waiters.add("newcomer", "10.0.0.200")
    await waiters.finish()
    assert waiters.order.index("newcomer") == 100  # after one turn of each address: 101st


async def test_a_failing_address_may_have_only_so_many_attempts_in_the_unlock_path() -> None:
    scheduler = UnlockScheduler(
        slots=1, max_waiting=100, per_address=2, failures=lambda client: (1, 1)
    )
    waiters = Waiters(scheduler)
    async with scheduler.slot(HOLDER, False):
        await waiters.add("first", "10.0.0.1")
        await waiters.add("second", "10.0.0.1")
        await waiters.add("third", "10.0.0.1")
        await waiters.add("other", "10.0.0.2")
        assert waiters.refused == ["third"]
    await waiters.finish()
    assert waiters.order == ["first", "other", "second"]


async def test_an_address_known_for_the_mailbox_is_not_held_to_the_per_address_bound() -> None:
    """An archive server polling many mailboxes in parallel from one address."""
    scheduler = UnlockScheduler(
        slots=1, max_waiting=100, per_address=2, failures=lambda client: (1, 1)
    )
    waiters = Waiters(scheduler)
    async with scheduler.slot(HOLDER, False):
        for n in range(5):
            await waiters.add(f"archiver-{n}", "10.0.0.1", known=True)
        await waiters.add("stranger-1", "10.0.0.2")
        await waiters.add("stranger-2", "10.0.0.2")
        await waiters.add("stranger-3", "10.0.0.2")
        assert waiters.refused == ["stranger-3"]
    await waiters.finish()
    assert sorted(waiters.order) == sorted(
        [f"archiver-{n}" for n in range(5)] + ["stranger-1", "stranger-2"]
    )


async def test_an_address_without_failures_is_not_held_to_the_per_address_bound() -> None:
    """A new archive server's first parallel logins, all with the right passphrase."""
    scheduler = UnlockScheduler(slots=1, max_waiting=100, per_address=2)
    waiters = Waiters(scheduler)
    async with scheduler.slot(HOLDER, False):
        for n in range(5):
            await waiters.add(f"archiver-{n}", "10.0.0.1")
        assert waiters.refused == []
    await waiters.finish()
    assert len(waiters.order) == 5


async def test_a_full_queue_evicts_the_worst_stranger_for_a_better_one() -> None:
    failures = {"10.0.0.1": 9, "10.0.0.2": 5, "10.0.0.3": 5, "10.0.0.9": 0}

    def failures_of(client: Client) -> tuple[int, int]:
        network = sum(failures.values()) if client.network == "10.0.0.0/24" else 0
        return network, failures.get(client.address, 0)

    scheduler = UnlockScheduler(slots=1, max_waiting=3, per_address=8, failures=failures_of)
    waiters = Waiters(scheduler)
    async with scheduler.slot(HOLDER, False):
        await waiters.add("worst", "10.0.0.1")
        await waiters.add("bad-2", "10.0.0.2")
        await waiters.add("bad-3", "10.0.0.3")
        await waiters.add("as-bad", "10.0.0.1")  # the worst address again: no place
        assert waiters.refused == ["as-bad"]
        await waiters.add("newcomer", "10.0.0.9")  # takes the worst one's place
        assert waiters.refused == ["as-bad", "worst"]
        await waiters.add("elsewhere", "10.0.7.1")  # a clean network beats the flooded one
        await waiters.add("known", "10.0.0.1", known=True)  # known: displaces a stranger
        assert scheduler.waiting == 3
        assert scheduler.waiting_known == 1
    await waiters.finish()
    assert waiters.refused == ["as-bad", "worst", "bad-2", "bad-3"]
    assert waiters.order == ["known", "newcomer", "elsewhere"]


async def test_equal_strangers_keep_their_places_and_known_ones_are_never_evicted() -> None:
    scheduler = UnlockScheduler(slots=1, max_waiting=2, per_address=8)
    waiters = Waiters(scheduler)
    async with scheduler.slot(HOLDER, False):
        await waiters.add("first", "10.0.0.1")
        await waiters.add("known", "10.0.1.1", known=True)
        await waiters.add("equal", "10.0.2.1")  # no failures either: no place
        await waiters.add("known-2", "10.0.3.1", known=True)  # evicts the stranger
        await waiters.add("known-3", "10.0.4.1", known=True)  # only known wait: no place
    await waiters.finish()
    assert waiters.refused == ["equal", "first", "known-3"]
    assert waiters.order == ["known", "known-2"]


async def test_cancelled_waiters_give_up_their_place_and_no_slot_is_lost() -> None:
    scheduler = UnlockScheduler(slots=2, max_waiting=100, per_address=8)
    waiters = Waiters(scheduler)
    holders = [scheduler.slot(client_of(f"192.0.2.{n}"), False) for n in (1, 2)]
    for holder in holders:
        await holder.__aenter__()
    gone = await waiters.add("gone", "10.0.0.1")
    handed = await waiters.add("handed-over-then-cancelled", "10.0.1.1")
    await waiters.add("stays", "10.0.2.1")
    gone.cancel()
    await asyncio.sleep(0)
    await holders[0].__aexit__(None, None, None)  # handed to the second (gone has left)
    handed.cancel()  # before it could run: the slot must pass on, not vanish
    await holders[1].__aexit__(None, None, None)
    results = await asyncio.gather(*waiters.tasks, return_exceptions=True)
    assert [type(r) for r in results[:2]] == [asyncio.CancelledError] * 2
    assert waiters.order == ["stays"]
    assert await all_slots_free(scheduler, 2)


async def test_an_exception_in_the_holder_releases_the_slot() -> None:
    scheduler = UnlockScheduler(slots=1, max_waiting=10, per_address=1)
    with pytest.raises(RuntimeError):
        async with scheduler.slot(HOLDER, False):
            raise RuntimeError("unlock failed")
    assert await all_slots_free(scheduler, 1)
    # and the per-address count went back: the same address may try again
    async with scheduler.slot(HOLDER, False):
        pass


def test_failure_counts_expire_and_stay_bounded() -> None:
    counter = FailureCounter(window=10.0, per_key=4, max_keys=3)
    for n in range(6):
        counter.add("ip:a", float(n))
    assert counter.count("ip:a", 6.0) == 4  # capped per key
    for key in ("ip:b", "ip:c", "ip:d"):
        counter.add(key, 7.0)
    assert len(counter) == 3  # the least recently failing key was dropped
    assert counter.count("ip:a", 7.0) == 0
    assert counter.count("ip:b", 16.9) == 1
    counter.add("ip:e", 30.0)  # everything else left the window: forgotten
    assert len(counter) == 1
