"""Connections to the PostgreSQL index: a pool, migrated to the latest schema at open.

The DSN is `postgresql://USER@HOST:PORT/DB`; its password comes from the environment
(PGPASSWORD), a passfile (PGPASSFILE or `?passfile=`) or the `password` argument, never
from a command line. Errors say which server failed, never the password.
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from ..errors import StoreError
from .migrations import migrate

CONNECT_TIMEOUT = 10  # seconds; a node answers 4xx rather than hang on a dead index


class IndexUnavailable(StoreError):
    """The PostgreSQL index cannot be reached or refused us (retry later: SMTP 4xx)."""


def describe(dsn: str) -> str:
    """host:port/db of a DSN, for messages: without user, password or options."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparsable DSN)"
    host, port = parts.get("host", "localhost"), parts.get("port", "5432")
    return f"{host}:{port}/{parts.get('dbname', '')}"


def prepare_index(dsn: str, *, password: str | None = None) -> None:
    """Migrate the database to the latest schema version (IndexUnavailable if unreachable).

    On one connection, before any other is used: several nodes opening at once
    serialise on the migration lock (storage/postgres/migrations.py).
    """
    try:
        # Spelled out, not **kwargs: psycopg types each keyword (None ones are dropped).
        with psycopg.connect(
            dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT, password=password
        ) as conn:
            migrate(conn)
    except psycopg.OperationalError as exc:
        raise IndexUnavailable("cannot reach the index at {where}", where=describe(dsn)) from exc


def open_index(
    dsn: str, *, password: str | None = None, min_size: int = 1, max_size: int = 8
) -> ConnectionPool:
    """A connection pool on a database migrated to the latest schema version.

    Migrating first, on one connection, before the pool hands any out: several nodes
    opening at once serialise on the migration lock (storage/postgres/migrations.py).
    """
    kwargs: dict[str, object] = {"connect_timeout": CONNECT_TIMEOUT}
    if password is not None:
        kwargs["password"] = password
    where = describe(dsn)
    prepare_index(dsn, password=password)
    pool = ConnectionPool(
        dsn, kwargs=kwargs, min_size=min_size, max_size=max_size, open=False, name="index"
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT)
    except Exception as exc:
        pool.close()
        raise IndexUnavailable("cannot reach the index at {where}", where=where) from exc
    return pool
