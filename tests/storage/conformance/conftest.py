"""The conformance suite of the store contract (storage/contract/).

Every test gets a fresh Store from `contract_store`, parametrised over the
implementations; a new implementation adds its name to IMPLEMENTATIONS and a branch
to `_open`. Tests use only the contract: no SQL, no file layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from storage import Mailbox, Store, open_store
from storage.blobs import FileBlobs
from storage.contract.blobs import Blobs
from storage.postgres.store import PostgresStore
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF
from tests.support.seaweed import S3Target, s3_blobs

# The index (SQLite or PostgreSQL) times where message files go (DATA/blobs/ or, "+s3",
# objects in SeaweedFS): every combination storage.index and storage.blobs allow.
IMPLEMENTATIONS = ["sqlite", "sqlite+s3", "postgres", "postgres+s3"]
DOMAIN = "example.test"
# Each test's data directory, and for "postgres" its fresh schema (tests/conftest.py).
_DSN_FILE = "postgres.dsn"


def _open(kind: str, directory: Path, s3: S3Target | None) -> Store:
    index, _, blob_kind = kind.partition("+")
    blobs: Blobs | None = None
    if blob_kind == "s3":
        assert s3 is not None
        blobs = s3_blobs(s3, directory)
    elif blob_kind:
        raise AssertionError(f"unknown blob store in {kind!r}")
    options: dict[str, Any] = {
        "kdf": FAST_KDF,
        "password_hasher": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        "sealer": default_sealer(directory),
        "disk_reserve": 0,
    }
    if index == "sqlite":
        return open_store(directory, blobs=blobs, **options)
    if index == "postgres":
        dsn = (directory.parent / _DSN_FILE).read_text()
        return PostgresStore(dsn, blobs or FileBlobs(directory), directory, **options)
    raise AssertionError(f"unknown store implementation {kind!r}")


@pytest.fixture
def contract_s3(request: pytest.FixtureRequest) -> S3Target | None:
    """A bucket of this test's own when the implementation keeps blobs in S3."""
    if "s3" not in request.node.callspec.params["contract_store"]:
        return None
    return request.getfixturevalue("s3_target")


@pytest.fixture(params=IMPLEMENTATIONS)
def contract_store(
    request: pytest.FixtureRequest, tmp_path: Path, contract_s3: S3Target | None
) -> Iterator[Store]:
    server = None
    if request.param.startswith("postgres"):
        server = request.getfixturevalue("postgres_server")
        dsn = server.create_schema(request.getfixturevalue("conformance_database"))
        (tmp_path / _DSN_FILE).write_text(dsn)
        (tmp_path / "data").mkdir(mode=0o700)
    store = _open(request.param, tmp_path / "data", contract_s3)
    yield store
    store.close()
    if server is not None:
        server.drop_schema(dsn)


@pytest.fixture(scope="session")
def conformance_database(postgres_server) -> Iterator[str]:
    """One database for the run's conformance tests; each test gets its own schema."""
    dsn = postgres_server.create_database()
    yield dsn
    postgres_server.drop_database(dsn)


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
