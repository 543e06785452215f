"""The mailbox CSV export as a streamed response, for the console and the API."""

from __future__ import annotations

import csv
import io
import time

from aiohttp import web

from storage.bulk import CSV_COLUMNS, csv_lines
from storage.listing import MailboxListRow

CHUNK_ROWS = 500  # rows per write: memory and the socket, not the store (already read)


def _encode(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def stream_csv(request: web.Request, rows: list[MailboxListRow]) -> web.StreamResponse:
    """Rows as `mailboxes-YYYYMMDD-HHMMSS.csv`, an attachment, written in chunks. Every
    cell passes storage/csv_safe.py (a spreadsheet never runs it as a formula)."""
    name = time.strftime("mailboxes-%Y%m%d-%H%M%S.csv", time.gmtime())
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
        }
    )
    await response.prepare(request)
    await response.write(_encode([list(CSV_COLUMNS)]))
    for start in range(0, len(rows), CHUNK_ROWS):
        await response.write(_encode(csv_lines(rows[start : start + CHUNK_ROWS])))
    await response.write_eof()
    return response
