"""`gateway serve`: compose the store and every configured listener into one process.

SIGTERM/SIGINT: stop accepting, let in-flight work finish (gateway.shutdown_grace),
exit 0. SIGHUP: reload TLS certificates (also reloaded when the files change).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from storage import AlreadyExists
from storage.acme_status import live_pem
from storage.actions import AuditAction
from storage.async_store import AsyncStore

from .acme.responder import start_acme_responder
from .acme.sync import CertificateSync
from .acme.sync import start_up as acme_start_up
from .config import Settings
from .config.loader import parse_hostport
from .context import GatewayContext, Service
from .listeners import Listeners
from .login import Authenticator, LoginPolicy
from .metrics import GatewayMetrics
from .metrics_token import MetricsToken, metrics_token
from .sources.fetch import FetchOptions
from .sources.schedule import SourceScheduler
from .store_factory import node_local_seal_key, open_configured_store
from .tls import TlsManager

if TYPE_CHECKING:
    from aiohttp.web import AppRunner

    from web.options import MetricsHandler

log = logging.getLogger("gateway.serve")
LOOSE_MODES_LOGGED = 20

# (name, module, start function, settings keys whose value turns the service on)
SERVICES = (
    ("smtp", "gateway.smtp", "start_smtp", ("smtp.listen", "smtp.smtps_listen")),
    ("pop3", "gateway.pop3", "start_pop3", ("pop3.listen", "pop3.pop3s_listen")),
    ("imap", "gateway.imap", "start_imap", ("imap.listen", "imap.imaps_listen")),
)


@dataclass
class RunningGateway:
    ctx: GatewayContext
    services: list[Service] = field(default_factory=list)
    web_runner: AppRunner | None = None
    web_addresses: list[tuple[str, int]] = field(default_factory=list)
    metrics_handler: MetricsHandler | None = None
    metrics_token: MetricsToken | None = None
    scheduler: SourceScheduler | None = None  # fetch sources (fetch.enabled)

    def describe(self) -> list[str]:
        """One line per bound socket, named by listener kind (smtp, smtps, pop3s...)."""
        lines = []
        for service in self.services:
            for kind, (host, port) in service.endpoints():
                lines.append(f"{kind} listening on {_host(host)}:{port}")
        lines.extend(f"web console on {url}" for url in self.console_urls())
        return lines

    def console_urls(self) -> list[str]:
        scheme = "http" if self.ctx.settings.web.plain_http else "https"
        return [f"{scheme}://{_host(host)}:{port}/" for host, port in self.web_addresses]

    async def stop(self, grace: float) -> None:
        stopping = [s.stop(grace) for s in self.services]
        if self.scheduler is not None:
            stopping.append(self.scheduler.stop(grace))
        await asyncio.gather(*stopping, return_exceptions=True)
        if self.web_runner is not None:
            await self.web_runner.cleanup()


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def ensure_first_admin(store, out: Callable[[str], None], console_url: str) -> None:
    """Create 'admin' on a fresh data directory and print its password once.

    `console_url` is empty when the web console is off (web.listen = ""): then say how
    to turn it on rather than print an empty address. Nodes sharing one index (PostgreSQL)
    may start at the same moment: the one that loses the race finds 'admin' made.
    """
    if store.admins.count():
        return
    try:
        with store.atomic():
            _admin, password = store.admins.create("admin", role="superadmin")
            store.audit.record("gateway", str(AuditAction.ADMIN_CREATE), "admin", "first start", "")
    except AlreadyExists:
        return  # another node made it; only that one prints the password
    out("No admin account existed: created 'admin'. Its password is shown once, now:")
    out(f"    {password}")
    if console_url:
        out(f"Sign in at {console_url} and change it.")
        return
    out(
        "Sign-in needs the web console, and the web console is off (web.listen is empty):"
        " set web.listen, or run `gateway serve --web 127.0.0.1:8450`, then sign in and"
        " change the password."
    )


def reconcile_store(store) -> None:
    """Start-up reconciliation. Only one process may do it: a sibling worker's renamed,
    not yet committed file would look like an orphan."""
    report = store.maintenance.reconcile()
    if report.adopted or report.quarantined or report.temp_removed:
        log.warning(
            "reconciled data directory: %d adopted, %d quarantined, %d temp files removed",
            len(report.adopted),
            len(report.quarantined),
            report.temp_removed,
        )
    warn_about_store(store)


def warn_about_store(store) -> None:
    """Start-up warnings: files at rest others may read, TOTP secrets out of reach."""
    loose = store.maintenance.loose_file_modes()
    for item in loose[:LOOSE_MODES_LOGGED]:
        log.warning("data directory: %s (others may read it)", item.describe())
    if len(loose) > LOOSE_MODES_LOGGED:
        log.warning("data directory: %d more paths too open", len(loose) - LOOSE_MODES_LOGGED)
    if loose:
        log.warning("run `gateway fsck --repair` to make files 0600 and directories 0700")
    problem = store.sealing.problem()
    if problem is not None and store.admins.count_totp():
        log.error("two-factor sign-in will fail: %s", problem)
    if problem is not None and store.sources.list():
        log.error("fetch sources cannot read their credentials: %s", problem)


def tls_manager(settings: Settings, data_dir: Path) -> TlsManager:
    """The process's TLS certificate: configured files, the ACME one, or self-signed."""
    acme_pem = live_pem(data_dir) if settings.tls.acme else None
    return TlsManager(
        settings.tls.cert, settings.tls.key, data_dir, settings.gateway.hostname, acme_pem
    )


async def start_gateway(
    settings: Settings,
    data_dir: Path,
    out: Callable[[str], None],
    *,
    listeners: Listeners | None = None,
) -> RunningGateway:
    """Open the store and start every configured listener.

    `listeners`: given to one of several worker processes (--workers): the sockets the
    supervisor bound, shared by every worker; the parent did reconciliation and the
    first admin. Without it this process binds its own.
    """
    worker = listeners is not None
    # Before anything starts: an unusable web.metrics_token_file stops the start here.
    token = metrics_token(settings, data_dir) if settings.web.listen else None
    store = open_configured_store(data_dir, settings)
    if not worker:
        if warning := node_local_seal_key(settings):
            log.warning("%s", warning)
        reconcile_store(store)
    astore = AsyncStore(store, max_workers=settings.storage.threads)
    if settings.tls.acme:
        acme_start_up(store, data_dir)  # the store's certificate before the listeners load one
    tls = tls_manager(settings, data_dir)
    ctx = GatewayContext(
        settings=settings,
        store=astore,
        tls=tls,
        authenticator=Authenticator(astore, LoginPolicy.from_settings(settings)),
        data_dir=data_dir,
        hostname=tls.hostname,
    )
    if listeners is not None:
        ctx.listeners = listeners
        listeners.on_accept = _count_accepts(ctx.metrics, listeners)
    ctx.metrics.attach(ctx)
    running = RunningGateway(ctx)
    running.metrics_handler = functools.partial(ctx.metrics.handler, ctx)
    running.metrics_token = token
    try:
        if settings.tls.acme:
            running.services.append(await start_acme_responder(ctx))
        for _name, module, function, keys in SERVICES:
            if any(settings[k] for k in keys):
                start = getattr(importlib.import_module(module), function)
                running.services.append(await start(ctx))
        if settings.web.listen:
            await _start_web(running)
        if settings.fetch.enabled:
            running.scheduler = _start_sources(ctx)
        await ctx.listeners.start_accepting()  # a worker: once every service is up
    except BaseException:
        await running.stop(0)
        astore.close()
        raise
    if not worker:
        ensure_first_admin(store, out, next(iter(running.console_urls()), ""))
    return running


def _count_accepts(metrics: GatewayMetrics, listeners: Listeners) -> Callable[[str], None]:
    """journal_gateway_worker_connections_total{worker, listener}: how the workers share."""
    worker = str(listeners.balance.index if listeners.balance is not None else 0)

    def count(kind: str) -> None:
        metrics.worker_connections.labels(worker=worker, listener=kind).inc()

    return count


def _fetch_options(ctx: GatewayContext) -> FetchOptions:
    s = ctx.settings
    return FetchOptions(
        hostname=ctx.hostname,
        max_message_size=s.fetch.max_message_size,
        timeout=s.fetch.timeout,
        lease_ttl=s.fetch.lease_ttl,
    )


def _start_sources(ctx: GatewayContext) -> SourceScheduler:
    """Fetch the active sources on their intervals (every worker runs one; a lease per
    source in the store makes each run happen on one of them)."""
    s = ctx.settings
    scheduler = SourceScheduler(
        ctx.store,
        _fetch_options(ctx),
        concurrency=s.fetch.concurrency,
        max_backoff=s.fetch.max_backoff,
        metrics=ctx.metrics,
    )
    scheduler.start()
    return scheduler


async def _start_web(running: RunningGateway) -> None:
    from aiohttp import web as aioweb

    from web.app import create_app

    ctx = running.ctx
    app = create_app(ctx.store, _web_options(running))
    # keepalive_timeout also bounds a connection that never finishes a request (slowloris);
    # aiohttp's own default is an hour.
    runner = aioweb.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=ctx.settings.web.idle_timeout,
    )
    await runner.setup()
    ssl_context = None if ctx.settings.web.plain_http else ctx.tls.context
    await ctx.listeners.web_site(runner, "web.listen", ctx.settings.web.listen, ssl_context)
    running.web_runner = runner
    running.web_addresses.extend(address[:2] for address in runner.addresses)


def _port(settings: Settings, key: str) -> int | None:
    value = settings[key]
    return parse_hostport(value, key)[1] if value else None


def _web_options(running: RunningGateway):
    """Plain values for the console (web/ never imports gateway/)."""
    from importlib.metadata import version

    from web.options import ConnectInfo, WebOptions

    from .sources.web_runner import source_runner

    ctx = running.ctx
    s = ctx.settings
    bound = {svc.name: [a[1] for a in svc.addresses] for svc in running.services}
    cert = ctx.tls.info()

    def port(name: str, key: str, index: int) -> int | None:
        ports = bound.get(name, [])
        configured = _port(s, key)
        return ports[index] if configured == 0 and len(ports) > index else configured

    connect = ConnectInfo(
        hostname=ctx.hostname,
        smtp_port=port("smtp", "smtp.listen", 0),
        smtps_port=_port(s, "smtp.smtps_listen"),
        pop3_port=port("pop3", "pop3.listen", 0),
        pop3s_port=_port(s, "pop3.pop3s_listen"),
        imap_port=port("imap", "imap.listen", 0),
        imaps_port=_port(s, "imap.imaps_listen"),
        smtp_require_tls=s.smtp.require_tls,
        certificate_sha256=cert["sha256"],
        certificate_expires=cert["not_after"],
        certificate_self_signed=ctx.tls.self_signed,
        acme=s.tls.acme,
    )
    return WebOptions(
        data_dir=ctx.data_dir,
        secure_cookies=not s.web.plain_http,
        session_idle_timeout=s.web.session_idle_timeout,
        metrics_token=running.metrics_token.value if running.metrics_token else "",
        metrics_token_source=running.metrics_token.source if running.metrics_token else "",
        require_totp=tuple(s.web.require_totp),
        metrics_handler=running.metrics_handler,
        readiness_check=functools.partial(readiness, running),
        connect=connect,
        version=version("journal-gateway"),
        source_runner=source_runner(_fetch_options(ctx), ctx.metrics),
    )


async def readiness(running: RunningGateway) -> dict[str, bool]:
    """/readyz: the store accepts a write transaction and every listener is open."""
    checks = {"store_writable": await running.ctx.store.act(_store_writable)}
    for service in running.services:
        checks[f"{service.name}_listening"] = bool(service.addresses) and not getattr(
            service, "stopping", False
        )
    return checks


def _store_writable(store) -> bool:
    try:
        store.maintenance.check_writable()
    except Exception:  # any failure means not ready
        log.exception("readiness: store is not writable")
        return False
    return True


async def _watch_certificates(
    tls: TlsManager, interval: float, sync: CertificateSync | None = None
) -> None:
    """Reload changed certificate files; with tls.acme, first take a new certificate
    from the store (another process or node may have stored it)."""
    while True:
        await asyncio.sleep(interval)
        if sync is not None:
            await sync.step()
        try:
            if tls.reload():
                log.info("TLS certificate files changed: reloaded")
        except (OSError, ValueError) as exc:
            log.error("TLS certificate reload failed, keeping the old one: %s", exc)


async def serve_forever(
    settings: Settings,
    data_dir: Path,
    out: Callable[[str], None] = print,
    listeners: Listeners | None = None,
) -> int:
    running = await start_gateway(settings, data_dir, out, listeners=listeners)
    for line in running.describe():
        out(line)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(running.ctx.tls))
    sync = acme = acme_task = None
    if settings.tls.acme:
        from .acme.manager import AcmeManager

        sync = CertificateSync(running.ctx.store, running.ctx.tls, data_dir)
        acme = AcmeManager(running.ctx, sync)
        acme_task = asyncio.create_task(acme.run())
    watcher = asyncio.create_task(
        _watch_certificates(running.ctx.tls, settings.tls.reload_interval, sync)
    )
    try:
        sys.stdout.flush()
        await stop.wait()
        log.info(
            "shutting down: finishing in-flight work (at most %.0f s)",
            settings.gateway.shutdown_grace,
        )
        await running.stop(settings.gateway.shutdown_grace)
    finally:
        watcher.cancel()
        if acme is not None and acme_task is not None:
            acme_task.cancel()
            await _release_quietly(acme)
        running.ctx.store.close()
    return 0


async def _release_quietly(acme) -> None:
    try:
        await acme.release()
    except Exception:  # shutting down anyway: the lease expires by itself
        log.exception("ACME: could not release the lease")


def _reload(tls: TlsManager) -> None:
    try:
        tls.reload(force=True)
        log.info("SIGHUP: TLS certificate reloaded")
    except (OSError, ValueError) as exc:
        log.error("SIGHUP: TLS certificate reload failed, keeping the old one: %s", exc)
