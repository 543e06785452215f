"""What only the PostgreSQL store must show: several stores (nodes) on one database.

Two PostgresStore instances on one database stand for two gateway nodes (their message
files in one data directory: the single-node `storage.blobs = "files"` layout). A real
PostgreSQL 15 (tests/support/postgres.py); nothing is mocked.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from storage import QuotaExceeded, StoreError
from storage.async_store import AsyncStore
from storage.blobs import BlobStore
from storage.postgres.connection import IndexUnavailable
from storage.postgres.store import PostgresStore
from storage.sealing import default_sealer
from tests.storage.helpers import blob_files, deliver
from tests.support.argon import FAST_KDF

pytestmark = pytest.mark.external

DOMAIN = "example.test"
MESSAGE = b"Subject: quota\r\n\r\n" + b"x" * 4000


def open_node(dsn: str, data: Path) -> PostgresStore:
    data.mkdir(mode=0o700, exist_ok=True)
    return PostgresStore(
        dsn,
        BlobStore(data),
        data,
        kdf=FAST_KDF,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        sealer=default_sealer(data),
        disk_reserve=0,
    )


@pytest.fixture
def nodes(postgres_dsn: str, tmp_path: Path):
    first = open_node(postgres_dsn, tmp_path / "data")
    second = open_node(postgres_dsn, tmp_path / "data")
    yield first, second
    first.close()
    second.close()


def test_two_nodes_delivering_at_once_keep_the_quota_exact(nodes) -> None:
    first, second = nodes
    first.domains.add(DOMAIN)
    mailbox, _ = first.mailboxes.create(DOMAIN, actor=None)
    one = deliver(first, mailbox.id, MESSAGE).stored_size
    quota = one * 10  # room for exactly 9 more: a message commits while under the quota
    first.mailboxes.update(mailbox.id, quota=quota)
    outcomes: list[str] = []
    lock = threading.Lock()

    def send(store: PostgresStore) -> None:
        try:
            deliver(store, mailbox.id, MESSAGE)
            result = "stored"
        except QuotaExceeded:
            result = "over quota"
        with lock:
            outcomes.append(result)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for n in range(30):
            pool.submit(send, first if n % 2 else second)
    assert outcomes.count("stored") == 9, outcomes
    assert outcomes.count("over quota") == 21
    listed = second.messages.list(mailbox.id)
    counted = first.mailboxes.get(mailbox.id)
    assert len(listed) == counted.messages == 10
    assert counted.bytes == sum(m.stored_size for m in listed) == quota
    assert [m.uid for m in listed] == list(range(1, 11))
    # Refused copies left no file behind: one file per listed message.
    assert len(blob_files(first.data_dir)) == 10


def test_a_lease_held_by_a_dead_node_runs_out_for_the_other(nodes) -> None:
    first, second = nodes
    assert first.leases.acquire("pop3:mbx-1", "node-a", ttl=1.0)
    assert not second.leases.acquire("pop3:mbx-1", "node-b", ttl=30.0)
    assert second.leases.holder("pop3:mbx-1") == "node-a"
    first.close()  # node a dies without releasing
    time.sleep(1.2)
    assert second.leases.holder("pop3:mbx-1") is None
    assert second.leases.acquire("pop3:mbx-1", "node-b", ttl=30.0)
    assert second.leases.holder("pop3:mbx-1") == "node-b"
    assert not second.leases.renew("pop3:mbx-1", "node-a", ttl=30.0)


def test_a_delivery_on_one_node_wakes_a_subscriber_on_the_other(nodes) -> None:
    first, second = nodes
    first.domains.add(DOMAIN)
    mailbox, _ = first.mailboxes.create(DOMAIN, actor=None)
    heard = threading.Event()
    unsubscribe = second.events.subscribe(mailbox.id, lambda _m, _e: heard.set())
    try:
        assert second.events.listening.wait(10), "the listener never listened"
        deliver(first, mailbox.id, MESSAGE)
        # In-process events of `second` know nothing of `first`: only NOTIFY brings it.
        assert heard.wait(5), "no notification reached the other node"
    finally:
        unsubscribe()


def test_wait_for_change_returns_on_notify_long_before_its_poll(nodes) -> None:
    first, second = nodes
    first.domains.add(DOMAIN)
    mailbox, _ = first.mailboxes.create(DOMAIN, actor=None)
    watcher = AsyncStore(second, max_workers=2)

    async def scenario() -> tuple[int, float]:
        seen = await watcher.messages.change_seq(mailbox.id)
        waiting = asyncio.ensure_future(
            watcher.messages.wait_for_change(mailbox.id, seen, poll=60.0)
        )
        await asyncio.sleep(0.2)
        assert await asyncio.to_thread(second.events.listening.wait, 10)
        started = time.monotonic()
        await asyncio.to_thread(deliver, first, mailbox.id, MESSAGE)
        changed = await asyncio.wait_for(waiting, 10)
        return changed, time.monotonic() - started

    try:
        changed, waited = asyncio.run(scenario())
    finally:
        watcher.close(close_store=False)
    assert changed == first.messages.change_seq(mailbox.id) > 0
    assert waited < 5


def test_a_restarted_postgresql_fails_calls_with_the_storage_error_then_recovers(
    nodes, postgres_server
) -> None:
    first, _ = nodes
    first.domains.add(DOMAIN)
    mailbox, _ = first.mailboxes.create(DOMAIN, actor=None)
    deliver(first, mailbox.id, MESSAGE)
    postgres_server.stop()
    try:
        with pytest.raises(IndexUnavailable) as raised:
            first.mailboxes.get(mailbox.id)
        assert isinstance(raised.value, StoreError)
        assert "passfile" not in str(raised.value) and "gateway@" not in str(raised.value)
        with pytest.raises(StoreError):
            deliver(first, mailbox.id, MESSAGE)
    finally:
        postgres_server.start()
    # The same store, not reopened: its calls work again.
    assert first.mailboxes.get(mailbox.id).messages == 1
    deliver(first, mailbox.id, MESSAGE)
    assert len(first.messages.list(mailbox.id)) == 2
    # The delivery that failed while the index was down left no file behind.
    assert len(blob_files(first.data_dir)) == 2


def test_text_postgresql_cannot_store_is_a_clear_input_error(nodes) -> None:
    first, _ = nodes
    first.domains.add(DOMAIN)
    mailbox, _ = first.mailboxes.create(DOMAIN, actor=None)
    with pytest.raises(StoreError, match="NUL"):
        first.mailboxes.update(mailbox.id, description="bad\x00text")
    assert first.mailboxes.get(mailbox.id).description == ""


def test_after_a_restart_while_idle_the_first_call_already_works(nodes, postgres_server) -> None:
    first, _ = nodes
    first.domains.add(DOMAIN)
    mailbox, _ = first.mailboxes.create(DOMAIN, actor=None)
    postgres_server.restart()  # the store's connection died meanwhile; nobody called
    assert first.mailboxes.get(mailbox.id).id == mailbox.id
    deliver(first, mailbox.id, MESSAGE)
    assert first.mailboxes.get(mailbox.id).messages == 1


def test_a_node_hears_only_the_others_changes_over_notify(nodes) -> None:
    """Its own changes it published already, precisely ("exists"): no "changed" echo."""
    first, second = nodes
    first.domains.add(DOMAIN)
    mailbox, _ = first.mailboxes.create(DOMAIN, actor=None)
    seen: list[str] = []
    unsubscribe = first.events.subscribe(mailbox.id, lambda _m, event: seen.append(event))
    try:
        assert first.events.listening.wait(10)
        deliver(first, mailbox.id, MESSAGE)
        time.sleep(1.0)  # time enough for a notification to come back
        assert seen == ["exists"]
        deliver(second, mailbox.id, MESSAGE)
        deadline = time.monotonic() + 5
        while "changed" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen == ["exists", "changed"]
    finally:
        unsubscribe()


def test_nodes_committing_copies_for_the_same_mailboxes_in_opposite_order_never_deadlock(
    nodes,
) -> None:
    first, second = nodes
    first.domains.add(DOMAIN)
    a, _ = first.mailboxes.create(DOMAIN, actor=None)
    b, _ = first.mailboxes.create(DOMAIN, actor=None)
    rounds = 25

    def send(store: PostgresStore, order: list[str]) -> None:
        for _ in range(rounds):
            copies = [store.messages.begin_delivery(mailbox_id) for mailbox_id in order]
            for copy in copies:
                copy.write(MESSAGE)
            store.messages.commit_deliveries(copies)

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [pool.submit(send, first, [a.id, b.id]), pool.submit(send, second, [b.id, a.id])]
        for future in done:
            future.result()  # a deadlock would be IndexUnavailable here
    assert first.mailboxes.get(a.id).messages == first.mailboxes.get(b.id).messages == 2 * rounds


def test_the_portable_sql_means_the_same_with_and_without_parameters(nodes) -> None:
    conn = nodes[0].db.conn()
    assert conn.execute("SELECT 'a%b' AS t").fetchone()["t"] == "a%b"
    assert conn.execute("SELECT ? || '%' AS t", ("x",)).fetchone()[0] == "x%"
    named = conn.execute("SELECT :a || ':a' AS t", {"a": "y"}).fetchone()
    assert tuple(named) == ("y:a",) and named.keys() == ["t"]
