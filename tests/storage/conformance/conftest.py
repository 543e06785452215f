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
from storage.contract.blobs import Blobs
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF
from tests.support.seaweed import S3Target, s3_blobs

# "sqlite+s3": the SQLite index with message files as objects in SeaweedFS.
IMPLEMENTATIONS = ["sqlite", "sqlite+s3"]
DOMAIN = "example.test"


def _open(kind: str, directory: Path, s3: S3Target | None) -> Store:
    blobs: Blobs | None = None
    if kind == "sqlite+s3":
        assert s3 is not None
        blobs = s3_blobs(s3, directory)
    elif kind != "sqlite":
        raise AssertionError(f"unknown store implementation {kind!r}")
    return open_store(
        directory,
        kdf=FAST_KDF,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        sealer=default_sealer(directory),
        disk_reserve=0,
        blobs=blobs,
    )


@pytest.fixture
def contract_s3(request: pytest.FixtureRequest) -> S3Target | None:
    """A bucket of this test's own when the implementation keeps blobs in S3."""
    if "s3" not in request.node.callspec.params["contract_store"]:
        return None
    return request.getfixturevalue("s3_target")


@pytest.fixture(params=IMPLEMENTATIONS)
def contract_store(tmp_path: Path, contract_s3: S3Target | None, request) -> Iterator[Store]:
    store = _open(request.param, tmp_path / "data", contract_s3)
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
def sibling_store(
    request: pytest.FixtureRequest,
    contract_store: Store,
    tmp_path: Path,
    contract_s3: S3Target | None,
):
    """A second Store on the same data, as another worker process (or node) opens it."""
    store = _open(request.node.callspec.params["contract_store"], tmp_path / "data", contract_s3)
    yield store
    store.close()
