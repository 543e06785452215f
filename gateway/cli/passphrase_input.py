"""Reading mailbox passphrases: hidden prompt, a file, or standard input. Never argv.

A command that needs passphrases lists them in a fixed order (for `recover`: the old
passphrase, then the current one). Each comes from its `--…-file` option when given;
the rest come one per line from standard input with `--passphrase-stdin`, in that
order; otherwise from a hidden prompt on the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from .common import fail

F = TypeVar("F", bound=Callable[..., Any])

_FILE_TYPE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


@dataclass(frozen=True)
class Wanted:
    """One passphrase a command needs: how to ask for it, and its file if one was given."""

    label: str
    file: Path | None


def passphrase_file_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--passphrase-file",
        "passphrase_file",
        type=_FILE_TYPE,
        help=help_text,
    )


def old_passphrase_file_option(f: F) -> F:
    return click.option(
        "--old-passphrase-file",
        "old_passphrase_file",
        type=_FILE_TYPE,
        help="Read the old passphrase from the first line of FILE.",
    )(f)


def passphrase_stdin_option(help_text: str) -> Callable[[F], F]:
    return click.option("--passphrase-stdin", "passphrase_stdin", is_flag=True, help=help_text)


def passphrase_options(f: F) -> F:
    """--passphrase-file and --passphrase-stdin for a command needing one passphrase."""
    f = passphrase_stdin_option("Read the passphrase from the first line of standard input.")(f)
    return passphrase_file_option("Read the passphrase from the first line of FILE.")(f)


def read_passphrases(wanted: Sequence[Wanted], from_stdin: bool) -> list[str]:
    """The passphrases in `wanted` order, each from its file, stdin, or a hidden prompt."""
    missing = [w for w in wanted if w.file is None]
    if from_stdin and not missing:
        raise click.UsageError("--passphrase-stdin: every passphrase was already given by a file")
    return [_read_one(w, from_stdin) for w in wanted]


def read_passphrase(label: str, file: Path | None, from_stdin: bool) -> str:
    return read_passphrases([Wanted(label, file)], from_stdin)[0]


def _read_one(wanted: Wanted, from_stdin: bool) -> str:
    if wanted.file is not None:
        value = _first_line(wanted.file.read_text(encoding="utf-8", errors="replace"))
        if not value:
            raise fail(f"{wanted.file} holds no passphrase on its first line")
        return value
    if from_stdin:
        line = sys.stdin.readline()
        value = _first_line(line)
        if not value:
            raise fail(f"expected the {wanted.label} on standard input (one per line)")
        return value
    return click.prompt(wanted.label.capitalize(), hide_input=True, err=True).strip()


def _first_line(text: str) -> str:
    return text.splitlines()[0].strip() if text else ""
