"""Delivery reservations with S3 blobs shared by nodes (issue 13 item 3).

Two stores on one index and one bucket, as two nodes: `delivering` takes mail, and
`reconciling` runs reconciliation (with an orphan grace of 0, as a node whose clock is
ahead or whose grace is shorter would) between a blob's publication and its commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from storage import Store, StoreError, open_store
from storage.contract.blobs import Blobs
from storage.postgres.store import PostgresStore
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF
from tests.support.mail import plaintext, sample_message
from tests.support.seaweed import S3Target, s3_blobs

DOMAIN = "example.test"
Opener = Callable[[float], Store]


@pytest.fixture(params=["sqlite", "postgres"])
def open_node(
    request: pytest.FixtureRequest, tmp_path: Path, s3_target: S3Target
) -> Iterator[Opener]:
    """Opens a store ("a node") on the shared index and bucket with the given grace."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    dsn = None
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        database = server.create_database()
        dsn = server.create_schema(database)
    opened: list[Store] = []

    def open_node(grace: float) -> Store:
        blobs: Blobs = s3_blobs(s3_target, data, orphan_grace=grace)
        options = {
            "kdf": FAST_KDF,
            "password_hasher": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
            "sealer": default_sealer(data),
            "disk_reserve": 0,
        }
        if dsn is None:
            store: Store = open_store(data, blobs=blobs, **options)
        else:
            store = PostgresStore(dsn, blobs, data, **options)
        opened.append(store)
        return store

    yield open_node
    for store in opened:
        store.close()
    if dsn is not None:
        server.drop_database(database)


def _reconcile_after_publish(monkeypatch, reconciling: Store, wait: float = 0.0) -> list:
    """Run `reconciling`'s reconciliation once a blob is published, before its commit."""
    reports: list = []

    def hook(point: str) -> None:
        if point == "delivery.renamed" and not reports:
            time.sleep(wait)
            reports.append(reconciling.maintenance.reconcile())

    monkeypatch.setattr("storage.delivery.fault_point", hook)
    return reports


def test_reconcile_on_another_node_leaves_a_live_delivery_alone(open_node, monkeypatch):
    delivering, reconciling = open_node(3600.0), open_node(0.0)
    delivering.domains.add(DOMAIN)
    mailbox, passphrase = delivering.mailboxes.create(DOMAIN, actor=None)
    reports = _reconcile_after_publish(monkeypatch, reconciling)
    delivery = delivering.messages.begin_delivery(mailbox.id)
    delivery.write(sample_message(1))
    [info] = delivering.messages.commit_deliveries([delivery])
    assert reports and reports[0].adopted == [] and reports[0].quarantined == []
    assert [m.id for m in delivering.messages.list(mailbox.id)] == [info.id]
    key = delivering.keys.unlock(mailbox.id, passphrase)
    assert plaintext(delivering, key, info) == sample_message(1)


def test_an_expired_reservation_is_claimed_and_the_late_commit_fails(open_node, monkeypatch):
    delivering, reconciling = open_node(0.5), open_node(0.0)
    delivering.domains.add(DOMAIN)
    mailbox, passphrase = delivering.mailboxes.create(DOMAIN, actor=None)
    reports = _reconcile_after_publish(monkeypatch, reconciling, wait=1.0)
    delivery = delivering.messages.begin_delivery(mailbox.id)
    delivery.write(sample_message(2))
    with pytest.raises(StoreError, match="reservation"):  # SMTP answers 451: a retry
        delivering.messages.commit_deliveries([delivery])
    assert reports and len(reports[0].adopted) == 1
    # The adopted copy keeps its blob: the failed commit did not remove it.
    [adopted] = delivering.messages.list(mailbox.id)
    assert adopted.id == delivery.message_id
    key = delivering.keys.unlock(mailbox.id, passphrase)
    assert plaintext(delivering, key, adopted) == sample_message(2)
