"""Plain settings handed to `create_app` by its caller (`gateway serve`, or a test).

`web` never imports `gateway` (DESIGN §1): everything it needs to know about the rest
of the process arrives here as plain values.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

MetricsHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Returns {check name: passed}; /readyz answers 200 when every check passed, else 503.
ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
# (the synchronous store, a storage.sources.Source) -> an outcome with detail() and
# document(); it runs on a thread of the web app's own, and may take the network's time.
SourceJob = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class SourceRunner:
    """The gateway's fetcher, for the console's and the API's "fetch now" (`fetch`, one
    run of a source, recorded on it) and "test connection" (`check`: connect, sign in,
    list; nothing fetched or recorded). `threads`: how many may run at once."""

    fetch: SourceJob
    check: SourceJob
    threads: int = 2


@dataclass(frozen=True)
class ConnectInfo:
    """What the Connect page tells admins. A port of None means that listener is off."""

    hostname: str = "localhost"
    smtp_port: int | None = 2525
    smtps_port: int | None = None
    pop3_port: int | None = 1110
    pop3s_port: int | None = None
    imap_port: int | None = 1143
    imaps_port: int | None = None
    smtp_require_tls: bool = False
    certificate_sha256: str = ""  # "AB:CD:..." of the DER certificate
    certificate_expires: float | None = None  # Unix time
    certificate_self_signed: bool = True
    # tls.acme: the certificate facts above are those at start-up; the Connect page
    # reads the current ones (and the last error) from DATA/tls/acme/status.json.
    acme: bool = False


@dataclass(frozen=True)
class WebOptions:
    """Settings of the console and API.

    data_dir: the gateway data directory; the app keeps its CSRF key in
      data_dir/secrets/web-csrf.key (mode 0600, created on first start).
    secure_cookies: False only when serving plain HTTP (behind a TLS-terminating proxy).
    session_idle_timeout / session_max_age: seconds.
    metrics_token: /metrics needs `Authorization: Bearer <token>`; when empty, /metrics
      refuses every request (`gateway serve` always passes one). Superadmins can read it
      on the Connect page.
    metrics_token_source: where the token comes from (a config key or a file path),
      shown to superadmins next to it.
    metrics_handler: serves /metrics (the caller plugs Prometheus in); None → 404.
    readiness_check: backs /readyz (store writable, listeners up); None → 404.
    login_max_failures / login_window: sign-in throttling per client IP and per name.
    require_totp: roles that must enrol two-factor sign-in before doing anything else,
      or ("all",) (storage.policy.totp_required reads it).
    clock: the time source (tests pass a fake one to cross timeouts without sleeping).
    source_runner: "fetch now" and "test connection" of fetch sources; None → those
      buttons answer that this process cannot reach sources.
    """

    data_dir: Path
    secure_cookies: bool = True
    session_idle_timeout: float = 1800.0
    session_max_age: float = 12 * 3600.0
    metrics_token: str = ""
    metrics_token_source: str = ""
    metrics_handler: MetricsHandler | None = None
    readiness_check: ReadinessCheck | None = None
    connect: ConnectInfo = field(default_factory=ConnectInfo)
    login_max_failures: int = 5
    login_window: float = 900.0
    require_totp: tuple[str, ...] = ()
    version: str = ""
    clock: Callable[[], float] = time.time
    source_runner: SourceRunner | None = None
