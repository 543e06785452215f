"""The mailbox selection of the bulk commands (`gateway mailbox bulk ...`,
`gateway mailbox export-csv`): --ids, --ids-file, --filter KEY=VALUE, or --all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from storage.bulk import FILTER_KEYS, Filter, Selection, filter_from

F = TypeVar("F", bound=Callable[..., Any])


def selection_options(f: F) -> F:
    options = [
        click.option("--ids", default=None, help="Mailbox ids, separated by commas."),
        click.option(
            "--ids-file",
            type=click.File("r"),
            default=None,
            help="A file of mailbox ids, one a line ('-': standard input).",
        ),
        click.option(
            "--filter",
            "filters",
            multiple=True,
            metavar="KEY=VALUE",
            help=f"Every mailbox matching ({', '.join(FILTER_KEYS)}); repeat to combine.",
        ),
        click.option("--all", "every", is_flag=True, help="Every mailbox."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def selection_from(
    ids: str | None, ids_file: Any, filters: tuple[str, ...], every: bool
) -> Selection:
    """Exactly one way of choosing, or a usage error (exit 2)."""
    given = [ids is not None, ids_file is not None, bool(filters), every]
    if sum(given) != 1:
        raise click.UsageError("choose mailboxes with one of --ids, --ids-file, --filter, --all")
    if ids is not None:
        return Selection(ids=tuple(i.strip() for i in ids.split(",") if i.strip()))
    if ids_file is not None:
        lines = ids_file.read().splitlines()
        return Selection(ids=tuple(i.strip() for i in lines if i.strip()))
    if every:
        return Selection(filter=Filter())
    pairs: dict[str, str] = {}
    for text in filters:
        key, sep, value = text.partition("=")
        if not sep:
            raise click.UsageError(f"--filter {text!r}: write KEY=VALUE, e.g. status=hold")
        pairs[key.strip()] = value.strip()
    return Selection(filter=filter_from(pairs))


def out_path_option(f: F) -> F:
    return click.option(
        "--out",
        "out_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write to this new file (mode 0600; an existing file is refused).",
    )(f)
