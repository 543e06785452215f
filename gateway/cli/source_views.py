"""What the `gateway source` commands share: credential files, documents, the fetcher.

Credentials never come from the argument list: a password from --password-file (its
first line), OAuth2 values from --oauth-file (a JSON object). Documents and tables
show a source's settings and last run, never a credential.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from storage.sources import SECRET_KEYS, Source

from ..sources import Fetcher, FetchOptions
from .common import fail, format_time, state

F = TypeVar("F", bound=Callable[..., Any])


def read_password_file(path: Path) -> dict[str, str]:
    """{"password": the file's first line} (its line ending dropped)."""
    text = _read(path)
    password = text.split("\n", 1)[0].removesuffix("\r")
    if not password:
        raise fail(f"{path}: the password file is empty")
    return {"password": password}


def read_oauth_file(path: Path, provider: str) -> dict[str, str]:
    """The provider's OAuth2 values from a JSON object in `path`."""
    try:
        document = json.loads(_read(path))
    except json.JSONDecodeError:
        raise fail(f"{path}: not a JSON object (line numbers only: no values are shown)") from None
    if not isinstance(document, dict):
        raise fail(f"{path}: not a JSON object with {', '.join(SECRET_KEYS[provider])}")
    return {k: v for k, v in document.items() if isinstance(v, str)}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(f"{path}: not UTF-8 text") from None


def credentials(
    password_file: Path | None, oauth2: str | None, oauth_file: Path | None
) -> tuple[str, dict[str, str]] | None:
    """(auth, secret) from the credential options, None when none is given."""
    if oauth2 and password_file:
        raise click.UsageError("give --password-file or --oauth2 with --oauth-file, not both")
    if oauth2:
        if oauth_file is None:
            raise click.UsageError("--oauth2 needs --oauth-file")
        return oauth2, read_oauth_file(oauth_file, oauth2)
    if oauth_file is not None:
        raise click.UsageError("--oauth-file goes with --oauth2 gmail|office365")
    if password_file is not None:
        return "password", read_password_file(password_file)
    return None


def source_document(source: Source) -> dict[str, Any]:
    return source.document() | {
        "created": format_time(source.created),
        "last_run": format_time(source.last_run),
        "last_success": format_time(source.last_success),
        "failures": source.failures,
    }


def print_source(source: Source, skipped: list[Any]) -> None:
    s = source.settings
    security = "in clear (insecure)" if s.tls == "none" else s.tls
    trust = (
        f"pinned sha256 {s.fingerprint}"
        if s.fingerprint
        else (f"CA file {s.ca_file}" if s.ca_file else "system CAs")
    )
    rows = [
        ("Source", f"{source.id}  {source.name}"),
        ("Mailbox", source.mailbox_id),
        ("Server", f"{s.protocol} {s.host}:{s.port}, TLS {security}, {trust}"),
        ("Account", f"{s.username} ({s.auth})"),
        ("Folders", ", ".join(s.folders) or "-"),
        ("At the source", "kept" if s.keep else "deleted after storing"),
        ("Interval", f"{s.interval} s"),
        (
            "Status",
            ("active" if source.active else "not active") + (", FAILING" if source.failing else ""),
        ),
        ("Last run", f"{format_time(source.last_run) or 'never'}, {source.last_count} stored"),
        ("Last error", source.last_error or "-"),
        ("Comment", source.comment or "-"),
    ]
    for label, value in rows:
        click.echo(f"{label + ':':15}{value}")
    for skip in skipped:
        where = f"{skip.folder}/{skip.key}" if skip.folder else skip.key
        click.echo(f"Skipped:       {where} ({skip.size} bytes): {skip.reason}")


def cli_fetcher(store: Any) -> Fetcher:
    settings = state().settings
    options = FetchOptions(
        hostname=settings["gateway.hostname"] or socket.getfqdn(),
        max_message_size=settings["fetch.max_message_size"],
        timeout=settings["fetch.timeout"],
        lease_ttl=settings["fetch.lease_ttl"],
    )
    return Fetcher(store, options)


def source_options(required: bool) -> Callable[[F], F]:
    """The connection options of `add` (required ones required) and `update`."""

    def decorate(f: F) -> F:
        options = [
            click.option("--host", required=required, help="Server host name or address."),
            click.option("--port", type=click.IntRange(1, 65535), help="Default: the protocol's."),
            click.option(
                "--tls",
                type=click.Choice(["implicit", "starttls", "none"]),
                default="implicit" if required else None,
                show_default=required,
                help="none needs --insecure.",
            ),
            click.option(
                "--insecure",
                is_flag=True,
                default=None,
                help="Allow --tls none: the password then travels in clear.",
            ),
            click.option(
                "--ca-file",
                type=click.Path(exists=True, dir_okay=False),
                help="CA bundle to trust.",
            ),
            click.option("--fingerprint", help="Pin the server certificate's SHA-256 (hex)."),
            click.option("--user", "username", required=required, help="Account at the source."),
            click.option(
                "--password-file",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="File whose first line is the password.",
            ),
            click.option(
                "--oauth2", type=click.Choice(["gmail", "office365"]), help="OAuth2 sign-in."
            ),
            click.option(
                "--oauth-file",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="JSON with the OAuth2 values (see README: Fetch sources).",
            ),
            click.option("--folder", "folders", multiple=True, help="IMAP folder (repeatable)."),
            click.option(
                "--interval",
                type=int,
                default=300 if required else None,
                help="Seconds between runs.",
            ),
            click.option("--comment", default="" if required else None, help="A note for admins."),
        ]
        for option in reversed(options):
            f = option(f)
        return f

    return decorate
