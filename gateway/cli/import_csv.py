"""The input file of `gateway mailbox import`: rows parsed, each bad one with its line.

UTF-8 (a byte-order mark is allowed), a header row naming the columns (any order, any
case): `domain` (required), `name`, `description`, `aliases` (separated by spaces or
semicolons), `quota` (bytes, or a size such as `10 GiB`) and `key` (optional: the row's
import key; without it the key is "domain/name"). Line numbers are physical lines of
the file, so a quoted cell spanning lines does not shift the ones after it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from storage import StoreError, sizes
from storage.actions import CreateMailbox
from storage.actions.imports import import_key

COLUMNS = ("name", "description", "domain", "aliases", "quota", "key")
_ALIAS_SEPARATORS = re.compile(r"[\s;]+")
MAX_CELL = 10_000  # a description is free text, not a document


class InputFileError(Exception):
    """The file as a whole cannot be read (not UTF-8, no header, unknown columns)."""


@dataclass(frozen=True)
class ImportRow:
    line: int
    key: str
    request: CreateMailbox


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


def read_rows(path: Path) -> Iterator[ImportRow | BadRow]:
    """Every data row of the file, parsed or bad; InputFileError for the whole file."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            yield from _rows(csv.reader(fh, strict=True))
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise InputFileError(f"{path}: not a CSV file ({exc})") from None


def _rows(reader: Iterator[list[str]]) -> Iterator[ImportRow | BadRow]:
    header = next(reader, None)
    if header is None:
        raise InputFileError("the file is empty: a header row naming the columns is required")
    columns = _columns(header)
    end_line = reader.line_num  # type: ignore[attr-defined]
    for cells in reader:
        line, end_line = end_line + 1, reader.line_num  # type: ignore[attr-defined]
        if not cells or all(not cell.strip() for cell in cells):
            continue
        yield _row(line, columns, cells)


def _columns(header: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise InputFileError(
            f"line 1: unknown column(s): {', '.join(unknown)} (known: {', '.join(COLUMNS)})"
        )
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise InputFileError(f"line 1: column(s) given twice: {', '.join(twice)}")
    if "domain" not in columns:
        raise InputFileError("line 1: the domain column is required")
    return columns


def _row(line: int, columns: list[str], cells: list[str]) -> ImportRow | BadRow:
    if len(cells) != len(columns):
        return BadRow(line, f"{len(cells)} cells where the header has {len(columns)}")
    values = dict(zip(columns, cells, strict=True))
    if any(len(cell) > MAX_CELL for cell in cells):
        return BadRow(line, f"a cell is longer than {MAX_CELL} characters")
    domain = values["domain"].strip()
    if not domain:
        return BadRow(line, "the domain is empty")
    try:
        quota = sizes.parse_size(values.get("quota", "").strip() or "0")
    except ValueError:
        shown = values["quota"].strip()
        return BadRow(line, f"quota {shown!r} is not a size (bytes, 500M, 10 GiB)")
    name = values.get("name", "").strip()
    try:
        key = import_key(values.get("key", ""), domain, name)
    except StoreError as exc:
        return BadRow(line, str(exc))
    aliases = tuple(a for a in _ALIAS_SEPARATORS.split(values.get("aliases", "")) if a)
    request = CreateMailbox(
        domain,
        name=name,
        description=values.get("description", "").strip(),
        aliases=aliases,
        quota=quota,
        import_key=key,
    )
    return ImportRow(line, key, request)
