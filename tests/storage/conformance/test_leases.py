"""Promises of the Leases area: one owner at a time, renewal, expiry, release."""

from __future__ import annotations

import time

from storage import Store

NAME = "pop3:mbx_example"


def test_a_lease_is_held_by_one_owner_at_a_time(contract_store: Store) -> None:
    leases = contract_store.leases
    assert leases.acquire(NAME, "worker-a", 30)
    assert not leases.acquire(NAME, "worker-b", 30)
    assert leases.holder(NAME) == "worker-a"
    assert leases.acquire("pop3:another", "worker-b", 30)  # names are independent


def test_the_holder_may_acquire_again_and_renew(contract_store: Store) -> None:
    leases = contract_store.leases
    assert leases.acquire(NAME, "worker-a", 30)
    assert leases.acquire(NAME, "worker-a", 30)
    assert leases.renew(NAME, "worker-a", 30)
    assert not leases.renew(NAME, "worker-b", 30)
    assert leases.holder(NAME) == "worker-a"


def test_an_unrenewed_lease_expires_after_its_ttl(contract_store: Store) -> None:
    leases = contract_store.leases
    assert leases.acquire(NAME, "worker-a", 0.2)
    assert not leases.acquire(NAME, "worker-b", 30)
    time.sleep(0.3)
    assert leases.holder(NAME) is None
    assert leases.acquire(NAME, "worker-b", 30)
    assert not leases.renew(NAME, "worker-a", 30)  # the old holder knows it lost it
    assert leases.holder(NAME) == "worker-b"


def test_a_renewed_lease_outlives_its_first_ttl(contract_store: Store) -> None:
    leases = contract_store.leases
    assert leases.acquire(NAME, "worker-a", 0.3)
    time.sleep(0.2)
    assert leases.renew(NAME, "worker-a", 0.3)
    time.sleep(0.2)
    assert not leases.acquire(NAME, "worker-b", 30)


def test_release_frees_the_name_only_for_its_owner(contract_store: Store) -> None:
    leases = contract_store.leases
    assert leases.acquire(NAME, "worker-a", 30)
    leases.release(NAME, "worker-b")
    assert leases.holder(NAME) == "worker-a"
    leases.release(NAME, "worker-a")
    assert leases.holder(NAME) is None
    assert leases.acquire(NAME, "worker-b", 30)
    leases.release("pop3:never-held", "worker-a")  # nothing to do, no error


def test_a_lease_holds_across_store_handles(contract_store: Store, sibling_store: Store) -> None:
    assert contract_store.leases.acquire(NAME, "worker-a", 30)
    assert not sibling_store.leases.acquire(NAME, "worker-b", 30)
    assert sibling_store.leases.holder(NAME) == "worker-a"
    contract_store.leases.release(NAME, "worker-a")
    assert sibling_store.leases.acquire(NAME, "worker-b", 30)
