"""The data directory is ours or refused (issue 2: "a data directory that is not ours").

A refused directory is left exactly as it was: no marker, no WAL switch, no new files.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import NotADataDirectory, open_store
from tests.support.argon import FAST_KDF


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def assert_refused_untouched(directory: Path) -> None:
    before = snapshot(directory)
    with pytest.raises(NotADataDirectory) as info:
        open_store(directory, kdf=FAST_KDF)
    assert str(directory) in str(info.value)
    assert snapshot(directory) == before
    assert sorted(p.name for p in directory.iterdir()) == sorted(before)


def test_new_directory_is_created_and_reopens(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    store = open_store(data_dir, kdf=FAST_KDF)
    store.domains.add("example.test")
    store.close()
    assert (data_dir / ".journal-gateway").is_file()
    assert (data_dir / "gateway.db").is_file()
    reopened = open_store(data_dir, kdf=FAST_KDF)
    try:
        assert [d.name for d in reopened.domains.list()] == ["example.test"]
    finally:
        reopened.close()


def test_existing_empty_directory_is_accepted(tmp_path: Path) -> None:
    store = open_store(tmp_path, kdf=FAST_KDF)
    store.close()
    assert (tmp_path / ".journal-gateway").is_file()


def test_directory_with_foreign_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "holiday-photos.jpg").write_bytes(b"\xff\xd8 not ours")
    (tmp_path / "notes.txt").write_text("mine")
    assert_refused_untouched(tmp_path)


def test_a_file_is_not_a_data_directory(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_text("a file")
    with pytest.raises(NotADataDirectory):
        open_store(path, kdf=FAST_KDF)
    assert path.read_text() == "a file"


def test_someone_elses_sqlite_database_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "gateway.db")
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices(total) VALUES (12.5)")
    conn.commit()
    conn.close()
    assert_refused_untouched(tmp_path)
    # Refused again on a second attempt (no marker was left behind to vouch for it).
    assert_refused_untouched(tmp_path)
    conn = sqlite3.connect(tmp_path / "gateway.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("SELECT total FROM invoices").fetchall() == [(12.5,)]
    conn.close()


def test_a_gateway_db_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    (tmp_path / "gateway.db").write_bytes(b"this is not a database file" * 100)
    assert_refused_untouched(tmp_path)
