"""CSV cells safe to open in a spreadsheet (the OWASP CSV-injection rule).

A cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return) is read as a
formula by Excel, LibreOffice and Google Sheets; a leading `'` makes it text. Every
CSV the gateway writes for people (the passphrase file of `gateway mailbox import`,
exports) passes its cells through `neutralise`.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """`cell`, prefixed with `'` when a spreadsheet would take it for a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def neutralise_row(cells: list[str]) -> list[str]:
    return [neutralise(cell) for cell in cells]
