"""The passphrase file of `gateway mailbox import`, which is also its journal.

Created with O_EXCL and mode 0600 (an existing file is refused, never overwritten);
each row is written, flushed and fsynced while its mailbox's transaction is still
open, and the transaction commits only after that: a crash can leave a row whose
mailbox was never committed (a re-run creates that mailbox anew, under a new id), but
never a committed mailbox whose passphrase is nowhere.
"""

from __future__ import annotations

import csv
import os
import threading
from pathlib import Path
from typing import TextIO

from storage import Mailbox
from storage.csv_safe import neutralise_row
from storage.file_modes import create_private_file

HEADER = ["id", "address", "name", "domain", "aliases", "passphrase", "import_key"]


class PassphraseFile:
    """Rows appended from several threads, each durable when `append` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = create_private_file(path)  # FileExistsError if it exists
        self._fh: TextIO = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._fh)
        self._lock = threading.Lock()
        self._write([HEADER])
        _fsync_directory(path.parent)

    def append(self, mailbox: Mailbox, passphrase: str, key: str) -> None:
        cells = [
            mailbox.id,
            mailbox.address,
            mailbox.name,
            mailbox.domain,
            " ".join(mailbox.aliases),
            passphrase,
            key,
        ]
        with self._lock:
            self._write([neutralise_row(cells)])

    def _write(self, rows: list[list[str]]) -> None:
        self._writer.writerows(rows)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def _fsync_directory(folder: Path) -> None:
    """Make the new file's name durable too."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
