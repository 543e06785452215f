"""The conformance suite of the store contract (storage/contract/).

Every test gets a fresh Store from `contract_store`, parametrised over the
implementations; a new implementation adds its name to IMPLEMENTATIONS and a branch
to `_open`. Tests use only the contract: no SQL, no file layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from storage import Mailbox, Store, open_store
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF

IMPLEMENTATIONS = ["sqlite"]
DOMAIN = "example.test"


def _open(kind: str, directory: Path) -> Store:
    if kind == "sqlite":
        return open_store(
            directory,
            kdf=FAST_KDF,
            password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
            sealer=default_sealer(directory),
            disk_reserve=0,
        )
    raise AssertionError(f"unknown store implementation {kind!r}")


@pytest.fixture(params=IMPLEMENTATIONS)
def contract_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store = _open(request.param, tmp_path / "data")
    yield store
    store.close()


@pytest.fixture
def box(contract_store: Store) -> tuple[Mailbox, str]:
    """(mailbox, passphrase) in example.test, with alias journal@example.test."""
    contract_store.domains.add(DOMAIN)
    return contract_store.mailboxes.create(
        DOMAIN, name="Acme", aliases=[f"journal@{DOMAIN}"], actor=None
    )


@pytest.fixture
def sibling_store(request: pytest.FixtureRequest, contract_store: Store, tmp_path: Path):
    """A second Store on the same data, as another worker process (or node) opens it."""
    store = _open(request.node.callspec.params["contract_store"], tmp_path / "data")
    yield store
    store.close()
