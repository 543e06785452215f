"""Versioned schema migrations, safe when several gateway nodes start at once.

Each pending version runs in its own transaction that first takes one transaction-level
advisory lock (`pg_advisory_xact_lock`), so nodes starting together apply every version
exactly once, one after another: a node that waited finds the version recorded in
`schema_migrations` and skips it. A failing version rolls back whole (PostgreSQL DDL is
transactional) and leaves the database at the version before. The SHA-256 of each
version's SQL is recorded, so a released version edited afterwards is refused instead of
silently diverging between databases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from ..errors import StoreError
from .schema import VERSIONS

# One key for every gateway database: "JGW1" as in storage/sqlite/schema.py APPLICATION_ID.
LOCK_KEY = 0x4A475731

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    sha256 text NOT NULL,
    applied double precision NOT NULL DEFAULT extract(epoch FROM clock_timestamp())
)"""


class SchemaMismatch(StoreError):
    """The database's schema is not one this gateway can use (newer, or edited)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


MIGRATIONS: tuple[Migration, ...] = tuple(Migration(*entry) for entry in VERSIONS)
LATEST = MIGRATIONS[-1].version


def migrate(conn: psycopg.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Bring the database up to the last of `migrations`; returns the versions applied here.

    `conn` must not be inside a transaction. Raises SchemaMismatch when the database is
    at a version this code does not know, or a recorded version's SQL differs from ours.
    """
    applied: list[int] = []
    for migration in migrations:
        with conn.transaction():
            recorded = _lock_and_read(conn)
            if migration.version in recorded:
                _check_same(migration, recorded[migration.version])
                continue
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, sha256) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.sha256),
            )
            applied.append(migration.version)
    with conn.transaction():
        _check_not_newer(_lock_and_read(conn), migrations)
    return applied


def current_version(conn: psycopg.Connection) -> int:
    """The highest version recorded (0 for a database never migrated)."""
    with conn.transaction():
        recorded = _lock_and_read(conn)
    return max(recorded, default=0)


def _lock_and_read(conn: psycopg.Connection) -> dict[int, str]:
    """Wait for the migration lock (held to the end of this transaction); {version: sha256}.

    The lock comes before CREATE TABLE IF NOT EXISTS: two nodes creating the ledger at
    the same moment would otherwise collide on its catalog entry.
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
    conn.execute(CREATE_LEDGER)
    rows = conn.execute("SELECT version, sha256 FROM schema_migrations").fetchall()
    return {version: digest for version, digest in rows}


def _check_same(migration: Migration, recorded_sha256: str) -> None:
    if recorded_sha256 != migration.sha256:
        raise SchemaMismatch(
            "index schema version {version} in the database differs from this gateway's",
            version=migration.version,
        )


def _check_not_newer(recorded: dict[int, str], migrations: Sequence[Migration]) -> None:
    known = {migration.version for migration in migrations}
    unknown = sorted(set(recorded) - known)
    if unknown:
        raise SchemaMismatch(
            "the index is at schema version {found}, newer than this gateway knows"
            " ({latest}): upgrade the gateway",
            found=unknown[-1],
            latest=max(known, default=0),
        )
