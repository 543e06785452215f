"""`gateway mailbox export-csv`: the selected mailboxes as CSV, spreadsheet-safe."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from storage import actions
from storage.bulk import CSV_COLUMNS, Selection, csv_lines
from storage.file_modes import create_private_file
from storage.listing import MailboxListRow

from .common import actor, fail, get_store
from .selection import out_path_option, selection_from, selection_options

CHUNK_ROWS = 500


@click.command("export-csv")
@selection_options
@out_path_option
def export_csv(
    ids: str | None,
    ids_file: Any,
    filters: tuple[str, ...],
    every: bool,
    out_path: Path | None,
) -> None:
    """Write the selected mailboxes as CSV (id, name, domain, addresses, status,
    messages, bytes, quota, last_retrieval, received_24h) to standard output or --out.

    A cell starting with = + - @ (or a tab or carriage return) gets a leading ' so
    that a spreadsheet never runs it as a formula.
    """
    selection = selection_from(ids, ids_file, filters, every)
    if out_path is None:
        _write(sys.stdout, _rows(selection))
        return
    try:  # the file first: a refused one must not leave an export in the audit log
        fd = create_private_file(out_path)
    except FileExistsError:
        raise fail(f"{out_path} exists: give a new file") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            count = _write(out, _rows(selection))
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    click.echo(f"Wrote {count} mailboxes to {out_path}", err=True)


def _rows(selection: Selection) -> list[MailboxListRow]:
    wanted = actions.ExportMailboxes(selection)
    return actions.export_mailboxes(get_store(), actor(), wanted).rows


def _write(out: TextIO, rows: list[MailboxListRow]) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for start in range(0, len(rows), CHUNK_ROWS):
        writer.writerows(csv_lines(rows[start : start + CHUNK_ROWS]))
    return len(rows)
