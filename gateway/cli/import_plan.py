"""What `gateway mailbox import` will do with each row: create it, skip it (a mailbox
already has its import key), or report it as bad, before anything is created."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import StoreError
from storage.actions import Actor
from storage.actions.imports import Preflight, imported_keys

from .import_csv import BadRow, ImportRow, read_rows


@dataclass
class ImportPlan:
    to_create: list[ImportRow] = field(default_factory=list)
    skipped: int = 0
    bad: list[BadRow] = field(default_factory=list)


def plan_import(store: Any, who: Actor, path: Path) -> ImportPlan:
    """Every row checked by the rules `create_mailbox` applies; InputFileError when the
    file as a whole is unusable."""
    plan = ImportPlan()
    existing = imported_keys(store)
    preflight = Preflight(store, who)
    first_line: dict[str, int] = {}
    for row in read_rows(path):
        if isinstance(row, BadRow):
            plan.bad.append(row)
        elif row.key in existing:
            plan.skipped += 1
        elif row.key in first_line:
            where = first_line[row.key]
            plan.bad.append(BadRow(row.line, f"import key {row.key!r} is also on line {where}"))
        else:
            first_line[row.key] = row.line
            problem = _problem(preflight, row)
            if problem:
                plan.bad.append(BadRow(row.line, problem))
            else:
                plan.to_create.append(row)
    return plan


def _problem(preflight: Preflight, row: ImportRow) -> str:
    try:
        preflight.check(row.request, row.line)
    except StoreError as exc:
        return str(exc)
    return ""
