"""`gateway serve`: run every configured listener in one process (DESIGN §6)."""

from __future__ import annotations

import asyncio

import click

from ..config import ConfigError, load_settings
from ..config.validate import worker_count
from ..logs import setup_logging
from ..serve import serve_forever
from .common import config_failure, state

# flag → configuration key it overrides (flags win over the file and the environment)
LISTEN_FLAGS = {
    "smtp": "smtp.listen",
    "smtps": "smtp.smtps_listen",
    "pop3": "pop3.listen",
    "pop3s": "pop3.pop3s_listen",
    "imap": "imap.listen",
    "imaps": "imap.imaps_listen",
    "web": "web.listen",
}


def _listen_option(name: str, key: str):
    return click.option(
        f"--{name}",
        metavar="H:P",
        default=None,
        help=f"Listen address for {name.upper()} (overrides {key}; '' disables it).",
    )


@click.command()
@_listen_option("smtp", "smtp.listen")
@_listen_option("smtps", "smtp.smtps_listen")
@_listen_option("pop3", "pop3.listen")
@_listen_option("pop3s", "pop3.pop3s_listen")
@_listen_option("imap", "imap.listen")
@_listen_option("imaps", "imap.imaps_listen")
@_listen_option("web", "web.listen")
@click.option(
    "--workers",
    metavar="N|auto",
    default=None,
    help="Processes sharing the listening sockets (overrides serve.workers; default auto:"
    " one per CPU core).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log format (overrides log.format).",
)
def serve(workers: str | None, log_format: str | None, **listen: str | None) -> None:
    """Run every configured listener (SMTP, POP3, IMAP, web console), in one worker
    process per CPU core unless --workers (serve.workers) says otherwise.

    Prints what it listens on. SIGTERM stops accepting and lets in-flight transactions
    finish; SIGHUP reloads the TLS certificate.
    """
    cli = state()
    overrides: dict[str, object] = {LISTEN_FLAGS[k]: v for k, v in listen.items() if v is not None}
    if log_format:
        overrides["log.format"] = log_format
    if workers is not None:
        overrides["serve.workers"] = workers
    try:
        settings = load_settings(cli.config_file, overrides=overrides)
    except ConfigError as exc:
        raise config_failure(exc) from None
    setup_logging(settings.log.format, settings.log.level)
    count = worker_count(settings.serve.workers)
    if count > 1:
        from ..workers import run_workers

        raise SystemExit(run_workers(settings, cli.data_dir, count))
    raise SystemExit(asyncio.run(serve_forever(settings, cli.data_dir, out=_echo)))


def _echo(line: str) -> None:
    click.echo(line)
