"""The unlock cache (gateway/unlock_cache.py) on real POP3 and IMAP servers.

A repeat login with the same passphrase skips Argon2id; anything that would make a full
unlock answer differently (a wrong passphrase, a change, reset or status change made
through another store handle, as another worker or node would) is a miss that runs the
real unlock. Argon2id runs are counted by wrapping the store's keyring unlock.
"""

from __future__ import annotations

import asyncio
import poplib
from collections.abc import Iterator

import pytest

from gateway.login import LoginPolicy
from gateway.login_scheduler import client_of
from gateway.unlock_cache import UnlockCache
from storage import MailboxKey, Store, open_store
from tests.support.argon import FAST_KDF
from tests.support.mail import deliver, sample_message

from .conftest import IMAP_FAILED, POP3_FAILED, Retrieval

WRONG = "WRONG-WRONG-WRONG-WRONG-WRONG-WRONG"
POLICY = LoginPolicy(failures_before_delay=1000, unlock_cache_ttl=900.0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def unlocks(store, monkeypatch) -> list[str]:
    """The mailbox ids of every Argon2id unlock the store runs from now on."""
    calls: list[str] = []
    real = store.keys.unlock

    def counting(ref: str, passphrase: str) -> MailboxKey:
        calls.append(ref)
        return real(ref, passphrase)

    monkeypatch.setattr(store.keys, "unlock", counting)
    return calls


@pytest.fixture
def other_node(data_dir) -> Iterator[Store]:
    """A second store on the same data directory: another worker's or node's view."""
    other = open_store(data_dir, kdf=FAST_KDF)
    yield other
    other.close()


async def logins(served: Retrieval, passphrase: str | None = None) -> tuple[str, str]:
    """One POP3 and one IMAP login from 127.0.0.1: their replies."""
    pop3 = await asyncio.to_thread(served.pop3_login, "127.0.0.1", passphrase)
    imap = await asyncio.to_thread(served.imap_login, "127.0.0.1", passphrase)
    return pop3, imap


def ok(replies: tuple[str, str]) -> bool:
    return replies[0].startswith("+OK") and replies[1].startswith("a2 OK")


def retr_first(served: Retrieval) -> bytes:
    """Log in over POP3 (STLS) with poplib and read message 1."""
    client = poplib.POP3("127.0.0.1", served.pop3.addresses[0][1], timeout=10)
    try:
        client.stls(context=served.tls)
        client.user(served.mailbox_id)
        client.pass_(served.passphrase)
        return b"\r\n".join(client.retr(1)[1]) + b"\r\n"
    finally:
        client.quit()


async def test_repeat_logins_run_no_argon2_and_read_mail(serve, store, unlocks) -> None:
    served = await serve(POLICY)
    raw = sample_message(1)
    deliver(store, served.mailbox_id, raw)
    assert ok(await logins(served))
    assert unlocks == [served.mailbox_id]  # the first login: one real unlock
    assert ok(await logins(served))
    first = await asyncio.to_thread(retr_first, served)
    assert b"Subject: message 1" in first
    assert unlocks == [served.mailbox_id]  # four more logins, none ran Argon2id
    assert served.authenticator.unlock_cache.hits == 4


async def test_a_wrong_passphrase_after_a_cached_login_fails_and_runs_an_unlock(
    serve, unlocks
) -> None:
    served = await serve(POLICY)
    assert ok(await logins(served))
    assert await logins(served, WRONG) == (POP3_FAILED, IMAP_FAILED)
    assert len(unlocks) == 3  # the first login, then each wrong attempt
    assert ok(await logins(served))  # the right passphrase is still served from memory
    assert len(unlocks) == 3


async def test_a_change_in_another_store_retires_the_old_passphrase(
    serve, other_node, unlocks
) -> None:
    served = await serve(POLICY)
    assert ok(await logins(served))
    new = other_node.keys.change_passphrase(served.mailbox_id, served.passphrase)
    assert await logins(served) == (POP3_FAILED, IMAP_FAILED)
    assert ok(await logins(served, new))
    assert len(unlocks) == 4  # the old passphrase twice, the new one once, no hit before


async def test_a_reset_in_another_store_retires_the_old_passphrase(
    serve, other_node, unlocks
) -> None:
    served = await serve(POLICY)
    assert ok(await logins(served))
    new = other_node.keys.reset_passphrase(served.mailbox_id)
    assert await logins(served) == (POP3_FAILED, IMAP_FAILED)
    assert ok(await logins(served, new))
    assert len(unlocks) == 4


async def test_a_status_change_in_another_store_refuses_the_next_login(
    serve, other_node, unlocks
) -> None:
    served = await serve(POLICY)
    assert ok(await logins(served))
    other_node.mailboxes.update(served.mailbox_id, status="disabled")
    assert await logins(served) == (POP3_FAILED, IMAP_FAILED)
    other_node.mailboxes.update(served.mailbox_id, protocols=["imap"])
    other_node.mailboxes.update(served.mailbox_id, status="active")
    pop3, imap = await logins(served)
    assert pop3 == POP3_FAILED and imap.startswith("a2 OK")
    assert len(unlocks) == 2  # the first login; after the changes a real unlock again


async def test_a_protocol_change_in_another_store_refuses_the_next_login(
    serve, other_node, unlocks
) -> None:
    served = await serve(POLICY)
    assert ok(await logins(served))
    other_node.mailboxes.update(served.mailbox_id, allowed_networks=["10.0.0.0/8"])
    assert await logins(served) == (POP3_FAILED, IMAP_FAILED)


async def test_an_entry_expires_ttl_seconds_after_the_last_login(serve, unlocks) -> None:
    clock = FakeClock()
    served = await serve(LoginPolicy(unlock_cache_ttl=300.0), clock=clock)
    assert ok(await logins(served))
    clock.now += 299  # inside the TTL: a hit, which renews it
    assert ok(await logins(served))
    clock.now += 299
    assert ok(await logins(served))
    assert len(unlocks) == 1
    clock.now += 301  # 5 minutes without a login: expired
    pop3, _ = await logins(served)
    assert pop3.startswith("+OK")
    assert len(unlocks) == 2


async def test_a_ttl_of_zero_disables_the_cache(serve, unlocks) -> None:
    served = await serve(LoginPolicy(unlock_cache_ttl=0))
    assert ok(await logins(served))
    assert ok(await logins(served))
    assert len(unlocks) == 4
    assert len(served.authenticator.unlock_cache) == 0


def test_the_cache_keeps_at_most_size_entries_least_recently_used_dropped() -> None:
    clock = FakeClock()
    cache = UnlockCache(size=2, ttl=60, clock=clock)
    passphrase = "ABCDE-FGHJK-MNPQR-STVWX-YZ012-34567"
    keys = [MailboxKey(f"m{n}", {}, {}, {}) for n in range(3)]
    cache.put(keys[0], passphrase, "s0")
    cache.put(keys[1], passphrase, "s1")
    assert cache.get("m0", passphrase, "s0") is keys[0]  # m1 is now least recently used
    cache.put(keys[2], passphrase, "s2")
    assert len(cache) == 2
    assert cache.get("m1", passphrase, "s1") is None
    assert cache.get("m0", passphrase, "s0") is keys[0]
    assert cache.get("m2", passphrase, "s2") is keys[2]
    assert cache.get("m2", passphrase, "changed") is None  # a new key state drops it
    assert len(cache) == 1


def test_the_cache_holds_no_passphrase() -> None:
    cache = UnlockCache(size=2, ttl=60)
    passphrase = "ABCDE-FGHJK-MNPQR-STVWX-YZ012-34567"
    cache.put(MailboxKey("m0", {}, {}, {}), passphrase, "s0")
    held = repr(vars(cache)) + repr(list(cache._entries.values()))
    assert "ABCDE" not in held and passphrase.replace("-", "") not in held
    assert cache.get("m0", passphrase.lower(), "s0") is not None  # normalized first
    assert cache.get("m0", "not a passphrase", "s0") is None


async def test_a_hit_needs_no_unlock_slot(serve, unlocks) -> None:
    served = await serve(LoginPolicy(max_concurrent_unlocks=1))
    assert ok(await logins(served))
    holder = client_of("10.255.0.1")
    async with served.authenticator.scheduler.slot(holder, known=False):  # every slot busy
        assert ok(await asyncio.wait_for(logins(served), 10))
    assert len(unlocks) == 1
