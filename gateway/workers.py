"""`gateway serve` with several workers: processes sharing the listening sockets.

serve.workers (`auto`, the default, is one per CPU core; --workers overrides) processes
run every listener. The parent binds each listening socket once and hands the same
sockets to every worker (also to one restarted after a death): one accept queue per
port, from which the least loaded, least busy worker accepts (gateway/listeners.py).
The parent reconciles the data directory and creates the first admin, then only
supervises: a worker that dies is started again (after a backoff that grows while it
keeps dying), SIGTERM/SIGINT stop every worker gracefully, SIGHUP is passed on.

What a single process keeps in memory is shared through the store: the data itself
(SQLite serialises writers; UIDs are assigned inside the write transaction), POP3's
one session per mailbox (a store lease), IMAP IDLE (the mailbox change number) and the
known-good login addresses. /metrics sums every worker through prometheus_client's
multiprocess mode (a private directory the parent makes and removes). Per worker: SMTP
connection caps, the login scheduler's queue and failure delays, the Argon2 slots.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import RawArray
from pathlib import Path

import click

from .acme.sync import start_up as acme_start_up
from .config import Settings
from .listeners import (
    NOT_RUNNING,
    STARTING,
    AcceptBalance,
    ListenError,
    Listeners,
    bind_all,
    close_all,
)
from .logs import setup_logging
from .metrics_token import metrics_token
from .serve import ensure_first_admin, reconcile_store, serve_forever, tls_manager
from .store_factory import node_local_seal_key, open_configured_store

log = logging.getLogger("gateway.workers")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FIRST_BACKOFF = 0.5  # seconds before restarting a worker that died
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # a worker that lived this long starts the backoff over


Sockets = dict[str, list[socket.socket]]


def _worker_main(
    settings: Settings, data_dir: Path, index: int, sockets: Sockets, loads: list[int]
) -> None:
    """One worker: `sockets` are the parent's listening sockets, `loads` the shared
    array of open connections per worker (this one writes `loads[index]`)."""
    os.umask(0o077)  # inherited from the parent already; files at rest stay private
    setup_logging(settings.log.format, settings.log.level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    prefix = f"worker {index}: "
    listeners = Listeners(shared=sockets, balance=AcceptBalance(loads, index))
    out = lambda line: print(prefix + line, flush=True)  # noqa: E731
    asyncio.run(serve_forever(settings, data_dir, out=out, listeners=listeners))
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a late duplicate signal is harmless


@dataclass
class _Slot:
    """One worker position: its current process and its restart backoff."""

    index: int
    process: BaseProcess | None = None
    started: float = 0.0
    backoff: float = FIRST_BACKOFF
    restart_at: float | None = None
    exit_codes: list[int] = field(default_factory=list)


class Supervisor:
    """Starts the workers, restarts the ones that die, stops them all on request."""

    def __init__(self, settings: Settings, data_dir: Path, count: int, sockets: Sockets) -> None:
        self.settings, self.data_dir = settings, data_dir
        self.sockets = sockets
        self.ctx = multiprocessing.get_context("spawn")
        self.loads = RawArray("i", [NOT_RUNNING] * count)  # open connections per worker
        self.slots = [_Slot(i) for i in range(count)]
        self.stopping = False
        self.stop_codes: list[int] = []  # exits reaped after the stop was asked for

    def start(self, slot: _Slot) -> None:
        self.loads[slot.index] = STARTING  # the others wait for it, briefly, at their start
        args = (self.settings, self.data_dir, slot.index, self.sockets, self.loads)
        slot.process = self.ctx.Process(target=_worker_main, args=args, daemon=False)
        slot.process.start()
        slot.started, slot.restart_at = time.monotonic(), None

    def forward(self, signum: int, _frame: object = None) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stopping = True
            # Once every worker has closed its copy too, a new connection is refused
            # rather than left in a queue nobody accepts from.
            close_all(self.sockets)
        for slot in self.slots:
            proc = slot.process
            if proc is not None and proc.is_alive() and proc.pid:
                os.kill(proc.pid, signum)

    def run(self) -> int:
        for slot in self.slots:
            self.start(slot)
        while True:
            alive = [s.process for s in self.slots if s.process is not None]
            if self.stopping and not alive:
                break
            wait([p.sentinel for p in alive], timeout=0.5)
            for slot in self.slots:
                self._check(slot)
        # A worker that died earlier was logged and was to be restarted: only how the
        # workers running at the stop ended decides the exit status.
        return next((code for code in self.stop_codes if code), 0)

    def _check(self, slot: _Slot) -> None:
        proc = slot.process
        if proc is not None and proc.exitcode is not None:
            self._reap(slot, proc)
        elif proc is None and slot.restart_at is not None and not self.stopping:
            if time.monotonic() >= slot.restart_at:
                self.start(slot)
                log.warning("worker %d restarted: pid %s", slot.index, slot.process.pid)  # type: ignore[union-attr]

    def _reap(self, slot: _Slot, proc: BaseProcess) -> None:
        code = proc.exitcode if proc.exitcode is not None else 0
        if self.stopping and code == -signal.SIGTERM:
            code = 0  # stopped while still starting, before its handler was installed
        slot.exit_codes.append(code)
        slot.process = None
        self.loads[slot.index] = NOT_RUNNING  # the others stop deferring to it
        _metrics_process_dead(proc.pid)
        if self.stopping:
            self.stop_codes.append(code)
            return
        lived = time.monotonic() - slot.started
        slot.backoff = FIRST_BACKOFF if lived >= STABLE_AFTER else slot.backoff
        log.error(
            "worker %d (pid %s) died (exit code %s); restarting it in %.1f s",
            slot.index,
            proc.pid,
            code,
            slot.backoff,
        )
        slot.restart_at = time.monotonic() + slot.backoff
        slot.backoff = min(MAX_BACKOFF, slot.backoff * 2)


def _metrics_process_dead(pid: int | None) -> None:
    """Drop a dead worker's live gauges; its counters keep counting in the sum."""
    if pid is None or not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def _prepare(settings: Settings, data_dir: Path, sockets: Sockets) -> None:
    """What only one process may do: certificates, the metrics token, reconciliation."""
    # The parent makes the self-signed certificate (when none is configured) and the
    # /metrics token (when none is configured) so that the workers do not race to create them.
    tls_manager(settings, data_dir)
    if settings.web.listen:
        metrics_token(settings, data_dir)
    if warning := node_local_seal_key(settings):
        log.warning("%s", warning)
    store = open_configured_store(data_dir, settings)
    try:
        if settings.tls.acme:
            acme_start_up(store, data_dir)  # older ACME files imported once, not per worker
        reconcile_store(store)
        ensure_first_admin(store, click.echo, _console_url(settings, sockets))
    finally:
        store.close()


def _console_url(settings: Settings, sockets: Sockets) -> str:
    """The console's address as bound (the real port when web.listen is port 0)."""
    if "web.listen" not in sockets:
        return ""
    host, port = sockets["web.listen"][0].getsockname()[:2]
    scheme = "http" if settings.web.plain_http else "https"
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}/"


def run_workers(settings: Settings, data_dir: Path, count: int) -> int:
    try:
        sockets = bind_all(settings)  # port 0: the kernel picks one port, every worker's
    except ListenError as exc:
        raise click.ClickException(f"cannot listen: {exc}") from None
    try:
        _prepare(settings, data_dir, sockets)
        return _supervise(settings, data_dir, count, sockets)
    finally:
        close_all(sockets)


def _supervise(settings: Settings, data_dir: Path, count: int, sockets: Sockets) -> int:
    # Counters of every worker, summed by /metrics (gateway/metrics.py); a fresh private
    # directory each start, removed at exit.
    metrics_dir = tempfile.mkdtemp(prefix="gateway-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir
    supervisor = Supervisor(settings, data_dir, count, sockets)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, supervisor.forward)
    try:
        return supervisor.run()
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(metrics_dir, ignore_errors=True)
