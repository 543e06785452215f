"""`gateway serve --workers N`: N processes sharing the listening sockets (SO_REUSEPORT).

The parent reconciles the data directory and creates the first admin, then starts N
workers that each run every listener with SO_REUSEPORT; the kernel spreads new
connections over them. All state is in the store (SQLite serialises writers across
processes; UIDs are assigned inside the write transaction), so workers are
interchangeable. Limits: POP3's one-session-per-mailbox rule and IMAP IDLE
notifications are per process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from pathlib import Path

import click

from .config import Settings
from .config.loader import parse_hostport
from .logs import setup_logging
from .metrics_token import metrics_token
from .serve import ensure_first_admin, reconcile_store, serve_forever
from .store_factory import open_configured_store
from .tls import TlsManager

_LISTEN_KEYS = (
    "smtp.listen",
    "smtp.smtps_listen",
    "pop3.listen",
    "pop3.pop3s_listen",
    "imap.listen",
    "imap.imaps_listen",
    "web.listen",
)


def _worker_main(settings: Settings, data_dir: Path, index: int) -> None:
    os.umask(0o077)  # inherited from the parent already; files at rest stay private
    setup_logging(settings.log.format, settings.log.level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    prefix = f"worker {index}: "
    asyncio.run(
        serve_forever(
            settings, data_dir, out=lambda line: print(prefix + line, flush=True), worker=True
        )
    )
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a late duplicate signal is harmless


def run_workers(settings: Settings, data_dir: Path, count: int) -> int:
    for key in _LISTEN_KEYS:
        if settings[key] and parse_hostport(settings[key], key)[1] == 0:
            raise click.ClickException(f"--workers needs fixed ports: {key} is port 0")
    # The parent makes the self-signed certificate (when none is configured) and the
    # /metrics token (when none is configured) so that the workers do not race to create them.
    TlsManager(settings.tls.cert, settings.tls.key, data_dir, settings.gateway.hostname)
    if settings.web.listen:
        metrics_token(settings, data_dir)
    store = open_configured_store(data_dir, settings)
    try:
        reconcile_store(store)
        scheme = "http" if settings.web.plain_http else "https"
        url = f"{scheme}://{settings.web.listen}/" if settings.web.listen else ""
        ensure_first_admin(store, click.echo, url)
    finally:
        store.close()
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker_main, args=(settings, data_dir, i), daemon=False)
        for i in range(count)
    ]
    for proc in procs:
        proc.start()

    def forward(signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.is_alive() and proc.pid:
                os.kill(proc.pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    status = 0
    for proc in procs:
        proc.join()
        status = status or (proc.exitcode or 0)
    return status
