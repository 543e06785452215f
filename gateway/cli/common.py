"""What every `gateway` command shares: the store, JSON output, errors, confirmation."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from storage import StoreError, sizes
from storage.actions import Actor, AuditAction
from storage.actions.base import OPERATOR_NAME
from storage.timefmt import iso_utc

from ..config import ConfigError, Settings, load_settings
from ..store_factory import open_configured_store

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """Global options, and the settings and store opened from them on first use."""

    data_dir: Path
    config_file: Path | None
    _settings: Settings | None = field(default=None, repr=False)
    _store: Any = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
        return self._settings

    @property
    def store(self) -> Any:
        if self._store is None:
            self._store = open_configured_store(self.data_dir, self.settings)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def state() -> CliState:
    found = click.get_current_context().find_object(CliState)
    assert found is not None, "the `gateway` group puts a CliState on the context"
    return found


def get_store() -> Any:
    """The store of the running command (opened on first use, closed at exit)."""
    return state().store


def actor() -> Actor:
    """The CLI's actor for admin actions: the operator, who acts as a superadmin."""
    return Actor.operator(f"uid {os.getuid()}")


def audit(action: AuditAction, target: str, detail: str = "") -> None:
    """Record a CLI-only act that is no admin action (export, backup, retention);
    admin actions record their own entries. Ids and names only, never a secret."""
    get_store().audit.record(OPERATOR_NAME, str(action), target, detail, source=actor().source)


def json_option(f: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout."
    )(f)


def print_json(document: object) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def fail(message: str) -> click.ClickException:
    """An error for the user: one line on stderr, exit status 1."""
    return click.ClickException(message)


def config_failure(exc: ConfigError) -> click.ClickException:
    """Print one `error:` line per configuration problem; the exit-1 error to raise after.

    `config check`, `serve` and every other command report a bad configuration this way.
    """
    for problem in exc.problems:
        click.echo(f"error: {problem}", err=True)
    count = len(exc.problems)
    return fail(f"configuration is not valid ({count} error{'s' if count != 1 else ''})")


def confirm(question: str, yes: bool, action: str) -> None:
    """Ask on the terminal unless --yes was given; anything but yes fails (exit 1).

    Without a terminal (a script, cron, a pipe) there is no one to ask: a usage error
    (exit 2) naming --yes, whatever standard input holds. `action` completes
    "refusing to … without confirmation".
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"refusing to {action} without confirmation: no terminal to ask on; pass --yes"
        )
    if not click.confirm(question, default=False, err=True):
        raise fail("not confirmed; nothing was changed")


def error_message(exc: BaseException) -> str:
    """A one-line message for the errors a command may meet; never a secret."""
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class GatewayGroup(click.Group):
    """The top-level group: turns store, config and file errors into exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise config_failure(exc) from None
        except (StoreError, OSError) as exc:
            raise fail(error_message(exc)) from None


format_time = iso_utc  # times in --json documents: the one formatter the API uses too


def format_bytes(value: int) -> str:
    """ "1.5 GiB", "1 GiB", "300 B": the units the console and `--quota` use."""
    return sizes.size_text(value)


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Left-aligned columns separated by two spaces."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    for line in [headers, *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
