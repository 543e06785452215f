"""The PostgreSQL index schema and its migrations, against a real PostgreSQL 15."""

from __future__ import annotations

import re
import sqlite3
import threading

import psycopg
import pytest

from storage.postgres import migrations
from storage.postgres.connection import IndexUnavailable, open_index
from storage.postgres.migrations import MIGRATIONS, Migration, SchemaMismatch, migrate
from storage.postgres.schema import TABLES
from storage.sqlite.schema import SCHEMA

pytestmark = pytest.mark.external


def connect(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True)


def tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ).fetchall()
    return sorted(name for (name,) in rows)


def columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [name for (name,) in rows]


def ledger(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT * FROM schema_migrations ORDER BY version").fetchall()


def sqlite_columns() -> dict[str, list[str]]:
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    found = {
        name: [row[1] for row in db.execute(f"PRAGMA table_info({name})")]
        for name in names
        if not name.startswith("sqlite_")
    }
    db.close()
    return found


def test_a_fresh_database_gets_every_table_at_the_latest_version(postgres_dsn):
    with connect(postgres_dsn) as conn:
        assert tables(conn) == []
        assert migrate(conn) == [m.version for m in MIGRATIONS]
        assert tables(conn) == sorted([*TABLES, "schema_migrations"])
        assert migrations.current_version(conn) == migrations.LATEST


def test_every_sqlite_table_and_column_is_mirrored(postgres_dsn):
    """The second implementation stores what the first does, under the same names."""
    with connect(postgres_dsn) as conn:
        migrate(conn)
        for table, sqlite_names in sqlite_columns().items():
            assert columns(conn, table) == sqlite_names, table


def test_running_again_is_a_no_op(postgres_dsn):
    with connect(postgres_dsn) as conn:
        migrate(conn)
        before = ledger(conn)
        assert migrate(conn) == []
        assert ledger(conn) == before


def test_three_nodes_migrating_at_once_all_succeed_and_make_one_schema(postgres_dsn):
    gate = threading.Barrier(3)
    applied: list[list[int]] = []
    errors: list[BaseException] = []

    def node() -> None:
        try:
            with connect(postgres_dsn) as conn:
                gate.wait(timeout=30)
                applied.append(migrate(conn))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=node) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # Each version was applied by exactly one of the nodes.
    assert sorted(v for versions in applied for v in versions) == [m.version for m in MIGRATIONS]
    with connect(postgres_dsn) as conn:
        assert tables(conn) == sorted([*TABLES, "schema_migrations"])
        assert [row[0] for row in ledger(conn)] == [m.version for m in MIGRATIONS]


def test_a_database_at_an_older_version_is_brought_up_to_date_keeping_its_rows(postgres_dsn):
    with connect(postgres_dsn) as conn:
        assert migrate(conn, MIGRATIONS[:1]) == [1]
        assert "leases" not in tables(conn)
        conn.execute("INSERT INTO domains (name, created) VALUES ('example.test', 1.5)")
        assert migrate(conn) == [m.version for m in MIGRATIONS[1:]]
        assert "leases" in tables(conn)
        assert conn.execute("SELECT name, created FROM domains").fetchall() == [
            ("example.test", 1.5)
        ]


def test_a_database_newer_than_the_gateway_is_refused_untouched(postgres_dsn):
    with connect(postgres_dsn) as conn:
        migrate(conn)
        conn.execute("INSERT INTO schema_migrations (version, name, sha256) VALUES (99, 'x', 'y')")
        with pytest.raises(SchemaMismatch, match=r"schema version 99, newer .*upgrade"):
            migrate(conn)


def test_an_edited_released_version_is_refused(postgres_dsn):
    with connect(postgres_dsn) as conn:
        migrate(conn, MIGRATIONS[:1])
        edited = Migration(1, MIGRATIONS[0].name, MIGRATIONS[0].sql + "\n-- changed")
        with pytest.raises(SchemaMismatch, match="version 1 in the database differs"):
            migrate(conn, [edited])


def test_a_failing_version_rolls_back_whole(postgres_dsn):
    broken = Migration(len(MIGRATIONS) + 1, "broken", "CREATE TABLE half (a int); SELECT 1/0")
    with connect(postgres_dsn) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            migrate(conn, [*MIGRATIONS, broken])
        assert "half" not in tables(conn)
        assert migrations.current_version(conn) == migrations.LATEST


def test_seen_flag_records_retrieval_time_and_clearing_forgets_it(postgres_dsn):
    """The trigger mirrors storage/sqlite/schema.py TRIGGERS (a backslash is literal)."""
    with connect(postgres_dsn) as conn:
        migrate(conn)
        conn.execute("INSERT INTO domains VALUES ('example.test', 0)")
        conn.execute(
            "INSERT INTO mailboxes (id, domain, name, status, uidvalidity, created)"
            " VALUES ('mb', 'example.test', 'n', 'active', 1, 0)"
        )
        conn.execute(
            "INSERT INTO messages (id, mailbox_id, uid, epoch, size, stored_size, received,"
            " encoding, path, sha256) VALUES ('m1', 'mb', 1, 1, 1, 1, 0, 'age', 'k', 'h')"
        )
        seen = "SELECT count(*) FROM message_seen WHERE message_id = 'm1'"
        conn.execute("UPDATE messages SET flags = 'Seen' WHERE id = 'm1'")
        assert conn.execute(seen).fetchone() == (0,)
        conn.execute("UPDATE messages SET flags = '\\Flagged \\Seen' WHERE id = 'm1'")
        assert conn.execute(seen).fetchone() == (1,)
        conn.execute("UPDATE messages SET flags = '\\Flagged' WHERE id = 'm1'")
        assert conn.execute(seen).fetchone() == (0,)
        conn.execute("UPDATE messages SET flags = '\\Seen' WHERE id = 'm1'")
        conn.execute("DELETE FROM messages WHERE id = 'm1'")
        assert conn.execute("SELECT count(*) FROM message_seen").fetchone() == (0,)


def test_every_message_change_bumps_the_mailbox_change_feed(postgres_dsn):
    """The feed IMAP IDLE follows across workers and nodes, as in storage/sqlite/schema.py:
    a delivery, a flag change and an expunge each bump it; deleting the mailbox forgets it."""
    seq = "SELECT seq FROM mailbox_changes WHERE mailbox_id = 'mb'"
    with connect(postgres_dsn) as conn:
        migrate(conn)
        conn.execute("INSERT INTO domains VALUES ('example.test', 0)")
        conn.execute(
            "INSERT INTO mailboxes (id, domain, name, status, uidvalidity, created)"
            " VALUES ('mb', 'example.test', 'n', 'active', 1, 0)"
        )
        assert conn.execute(seq).fetchone() is None
        conn.execute(
            "INSERT INTO messages (id, mailbox_id, uid, epoch, size, stored_size, received,"
            " encoding, path, sha256) VALUES ('m1', 'mb', 1, 1, 1, 1, 0, 'age', 'k', 'h')"
        )
        assert conn.execute(seq).fetchone() == (1,)
        conn.execute("UPDATE messages SET flags = '\\Seen' WHERE id = 'm1'")
        assert conn.execute(seq).fetchone() == (2,)
        conn.execute("DELETE FROM messages WHERE id = 'm1'")
        assert conn.execute(seq).fetchone() == (3,)
        conn.execute("DELETE FROM mailboxes WHERE id = 'mb'")
        assert conn.execute(seq).fetchone() is None


def test_open_index_migrates_and_pools(postgres_dsn):
    pool = open_index(postgres_dsn)
    try:
        with pool.connection() as conn:
            assert migrations.current_version(conn) == migrations.LATEST
    finally:
        pool.close()


def test_an_unreachable_index_is_a_clear_error_without_the_password(postgres_server):
    dsn = re.sub(r":\d+/", ":1/", postgres_server.create_database())
    with pytest.raises(IndexUnavailable, match=r"cannot reach the index at 127\.0\.0\.1:1/t_"):
        open_index(dsn, password="hunter2-secret")


def test_a_wrong_password_is_a_clear_error_without_the_password(postgres_server):
    dsn = postgres_server.create_database().split("?", 1)[0]  # no passfile
    with pytest.raises(IndexUnavailable) as caught:
        open_index(dsn, password="hunter2-secret")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value.__cause__)
