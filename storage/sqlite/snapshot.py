"""Copies of the index: the online snapshot a backup takes, and the checks restore makes
on a backup's copy before any store opens it. The SQL of backup and restore lives here."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..file_modes import touch_private
from ..sealing import Sealer
from .schema import APPLICATION_ID
from .sealed import seal_state


class SqliteIndexSnapshot:
    """One committed state of the index, copied to `path` (a file of its own)."""

    origin = "sqlite"  # the index it was taken of ("postgresql": storage/postgres/table_io.py)

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA foreign_keys=ON")

    @classmethod
    def take(cls, source: Path, target: Path) -> SqliteIndexSnapshot:
        """sqlite3 online backup in one step: one read transaction, writers keep going."""
        src = sqlite3.connect(source, timeout=30)
        try:
            touch_private(target)  # SQLite gives its journal files the same mode
            dst = sqlite3.connect(target)
            try:
                src.backup(dst, pages=-1)
            finally:
                dst.close()
        finally:
            src.close()
        return cls(target)

    def schema_version(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def message_files(self) -> Iterator[tuple[str, str, str]]:
        """(message id, relative path, SHA-256) of every message in the snapshot, by path."""
        yield from self._conn.execute("SELECT id, path, sha256 FROM messages ORDER BY path")

    def drop_messages(self, message_ids: list[str]) -> None:
        """Remove rows of messages deleted since; recompute their mailboxes' counters."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        mailboxes: set[str] = set()
        for message_id in message_ids:
            row = conn.execute(
                "SELECT mailbox_id FROM messages WHERE id=?", (message_id,)
            ).fetchone()
            if row:
                mailboxes.add(row[0])
                conn.execute("DELETE FROM messages WHERE id=?", (message_id,))
        for mailbox_id in mailboxes:
            conn.execute(
                "UPDATE mailboxes SET"
                " message_count=(SELECT count(*) FROM messages WHERE mailbox_id=?),"
                " stored_bytes=(SELECT coalesce(sum(stored_size), 0) FROM messages"
                " WHERE mailbox_id=?) WHERE id=?",
                (mailbox_id, mailbox_id, mailbox_id),
            )
        conn.execute("COMMIT")

    def counts(self) -> tuple[int, int]:
        """(mailboxes, messages) in the snapshot."""
        mailboxes = self._conn.execute("SELECT count(*) FROM mailboxes").fetchone()[0]
        messages = self._conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        return mailboxes, messages

    def close(self) -> None:
        """Make the copy one self-contained file and close it."""
        try:
            self._conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            self._conn.close()


def index_copy_problem(path: Path) -> str | None:
    """Why the index copy at `path` is unusable (foreign file, fails integrity), or None."""
    conn = sqlite3.connect(path)
    try:
        if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            return "is not a Journal Gateway index"
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            return "fails SQLite's integrity check"
    finally:
        conn.close()
    return None


def index_copy_seal_state(path: Path, sealer: Sealer | None) -> tuple[int, bool | None]:
    """See sealed.seal_state, for an index copy opened read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return seal_state(conn, sealer)
    finally:
        conn.close()


def index_copy_files(path: Path) -> Iterator[tuple[str, str]]:
    """(relative path, SHA-256) of every message in the index copy, by path."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield from conn.execute("SELECT path, sha256 FROM messages ORDER BY path")
    finally:
        conn.close()
