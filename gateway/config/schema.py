"""Every configuration option, with its type, default and one-line description.

Keys are `section.name`; the TOML file uses [section] tables, the environment uses
GATEWAY_SECTION__NAME. The README's configuration table is checked against this list.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

MiB = 1024 * 1024


@dataclass(frozen=True)
class Option:
    key: str
    type: type
    default: Any
    doc: str
    item_type: builtins.type | None = None  # for lists (`type` here is the field above)
    choices: tuple[str, ...] = ()  # the only values allowed, when not empty
    minimum: float | None = None  # smallest number allowed
    check: str = ""  # a value check in gateway/config/validate.py CHECKS

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    @property
    def env(self) -> str:
        return "GATEWAY_" + self.key.upper().replace(".", "__").replace("-", "_")


def _o(
    key: str,
    type_: type,
    default: Any,
    doc: str,
    item_type: type | None = None,
    *,
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
    check: str = "",
) -> Option:
    """An option; numbers default to a minimum of 0 and `*listen` keys to a host:port check."""
    if minimum is None and type_ in (int, float):
        minimum = 0
    if not check and key.endswith("listen"):
        check = "hostport"
    return Option(key, type_, default, doc, item_type, choices, minimum, check)


OPTIONS: tuple[Option, ...] = (
    # --- general -------------------------------------------------------------------
    _o(
        "gateway.hostname",
        str,
        "",
        "Name used in SMTP greetings and Received headers (default: the machine's FQDN).",
    ),
    _o(
        "gateway.shutdown_grace",
        float,
        30.0,
        "Seconds SIGTERM waits for in-flight transactions before exiting.",
    ),
    _o(
        "gateway.trusted_proxies",
        list,
        [],
        "Networks (CIDR) of the load balancers allowed to send a PROXY header to a"
        " listener with smtp/pop3/imap.proxy_protocol on; other peers are closed without a"
        " greeting. Empty trusts any peer (a warning at start): list your balancers.",
        str,
        check="networks",
    ),
    # --- serve ---------------------------------------------------------------------
    _o(
        "serve.workers",
        str,
        "auto",
        "Worker processes sharing the listening sockets (one accept queue per port, the"
        " least loaded worker accepts): auto (one per CPU core) or a number (1-64);"
        " --workers overrides.",
        check="workers",
    ),
    # --- storage -------------------------------------------------------------------
    _o(
        "storage.disk_reserve",
        int,
        256 * MiB,
        "Free bytes kept on the data disk; below this SMTP answers 452 4.3.1.",
    ),
    _o("storage.compress", bool, True, "Compress messages with zstd before encryption."),
    _o(
        "storage.index",
        str,
        "sqlite",
        "Where the index is: sqlite (DATA/gateway.db) or a postgresql://USER@HOST:PORT/DB"
        " URL shared by every node. A password in the URL only via GATEWAY_STORAGE__INDEX;"
        " better index_password_file, PGPASSFILE or ?passfile=.",
        check="index",
    ),
    _o(
        "storage.index_password_file",
        str,
        "",
        "File holding the PostgreSQL password (mode 0600) for a postgresql:// index.",
        check="readable_file",
    ),
    _o(
        "storage.threads",
        int,
        8,
        "Size of the thread pool running SQLite, file and crypto work.",
        minimum=1,
    ),
    _o(
        "storage.blobs",
        str,
        "files",
        "Where message files go: files (DATA/blobs/) or s3://BUCKET[/PREFIX] on an"
        " S3-compatible object store (the bucket is created if missing).",
        check="blobs",
    ),
    _o(
        "storage.s3_endpoint",
        str,
        "",
        "URL of the S3 service, e.g. https://s3.example.net; empty: AWS for s3_region.",
    ),
    _o("storage.s3_region", str, "us-east-1", "Region sent to the S3 service."),
    _o("storage.s3_access_key_id", str, "", "S3 access key id (required with s3:// blobs)."),
    _o(
        "storage.s3_secret_access_key",
        str,
        "",
        "S3 secret access key, best given as GATEWAY_STORAGE__S3_SECRET_ACCESS_KEY; set"
        " this or s3_secret_access_key_file, not both. Never logged.",
    ),
    _o(
        "storage.s3_secret_access_key_file",
        str,
        "",
        "File holding the S3 secret access key (its first line, mode 0600).",
        check="readable_file",
    ),
    # --- crypto --------------------------------------------------------------------
    _o(
        "crypto.recipient",
        str,
        "mlkem768x25519",
        "age recipient type for new key epochs: mlkem768x25519 (post-quantum hybrid) or x25519.",
        choices=("mlkem768x25519", "x25519"),
    ),
    _o("crypto.argon2_memory_kib", int, 65536, "Argon2id memory (KiB) for sealing new epoch keys."),
    _o(
        "crypto.argon2_iterations",
        int,
        3,
        "Argon2id iterations for sealing new epoch keys.",
        minimum=1,
    ),
    _o(
        "crypto.argon2_lanes",
        int,
        4,
        "Argon2id lanes (parallelism) for sealing new epoch keys.",
        minimum=1,
    ),
    # --- secrets -------------------------------------------------------------------
    _o(
        "secrets.seal_key",
        str,
        "",
        "The key that seals TOTP secrets in the index: 32 bytes as base64 or hex, best"
        " given as GATEWAY_SECRETS__SEAL_KEY; set this or seal_key_file, not both.",
    ),
    _o(
        "secrets.seal_key_file",
        str,
        "",
        "File holding the seal key (base64 or hex text, mode 0600); empty (and no"
        " seal_key) means DATA/secrets/seal.key, made on first start.",
    ),
    # --- tls -----------------------------------------------------------------------
    _o(
        "tls.cert",
        str,
        "",
        "PEM certificate chain; empty means a self-signed one under DATA/tls/.",
        check="readable_file",
    ),
    _o("tls.key", str, "", "PEM private key for tls.cert.", check="readable_file"),
    _o(
        "tls.reload_interval",
        float,
        30.0,
        "Seconds between checks for changed certificate files (reloaded when changed).",
    ),
    _o(
        "tls.acme",
        bool,
        False,
        "Get and renew the certificate from an ACME CA (Let's Encrypt) by itself, kept in"
        " the store (shared by every node) and cached in DATA/tls/acme/; leave tls.cert"
        " and tls.key empty.",
    ),
    _o(
        "tls.acme_email",
        str,
        "",
        "Contact address registered with the ACME account (expiry warnings from the CA).",
    ),
    _o(
        "tls.acme_domains",
        list,
        [],
        "Names the ACME certificate is for; empty means [gateway.hostname].",
        item_type=str,
    ),
    _o(
        "tls.acme_directory",
        str,
        "https://acme-v02.api.letsencrypt.org/directory",
        "ACME directory URL (default Let's Encrypt production; staging:"
        " https://acme-staging-v02.api.letsencrypt.org/directory).",
    ),
    _o(
        "tls.acme_http_listen",
        str,
        ":80",
        "HTTP-01 challenge responder, host:port; the CA connects to port 80 of each name.",
    ),
    _o(
        "tls.acme_ca_file",
        str,
        "",
        "PEM CA bundle trusted for the ACME server's HTTPS (a private CA); empty: system CAs.",
        check="readable_file",
    ),
    _o(
        "tls.acme_renew_fraction",
        float,
        0.6667,
        "Renew when this fraction of the certificate's lifetime has passed (two thirds;"
        " 0 < f < 1).",
    ),
    _o(
        "tls.acme_retry_min",
        float,
        300.0,
        "Seconds before the first retry after a failed issuance; doubled on each failure.",
        minimum=1,
    ),
    _o(
        "tls.acme_retry_max",
        float,
        6 * 3600.0,
        "Longest wait in seconds between failed attempts (the doubling stops here).",
        minimum=1,
    ),
    # --- smtp ----------------------------------------------------------------------
    _o(
        "smtp.listen",
        str,
        "127.0.0.1:2525",
        "SMTP (STARTTLS) listener, host:port; empty disables it.",
    ),
    _o(
        "smtp.smtps_listen", str, "", "SMTPS (implicit TLS) listener, host:port; empty disables it."
    ),
    _o(
        "smtp.max_message_size",
        int,
        200 * MiB,
        "Largest message accepted, in bytes (advertised in SIZE).",
        minimum=1,
    ),
    _o(
        "smtp.allowed_networks",
        list,
        [],
        "Client networks (CIDR) allowed to connect; empty allows all.",
        str,
        check="networks",
    ),
    _o("smtp.require_tls", bool, False, "Refuse MAIL before STARTTLS with 530."),
    _o(
        "smtp.max_connections",
        int,
        400,
        "Concurrent SMTP connections per worker process; more get 421 4.7.0.",
        minimum=1,
    ),
    _o(
        "smtp.max_connections_per_ip",
        int,
        50,
        "Concurrent SMTP connections per client IP, per worker process; more get 421 4.7.0.",
        minimum=1,
    ),
    _o(
        "smtp.idle_timeout",
        float,
        300.0,
        "Seconds an SMTP client may stay silent before it is disconnected.",
    ),
    _o(
        "smtp.transaction_timeout",
        float,
        3600.0,
        "Seconds one SMTP transaction (MAIL to the end of DATA) may take at most.",
    ),
    _o(
        "smtp.proxy_protocol",
        bool,
        False,
        "Expect a PROXY protocol v1/v2 header (behind a load balancer).",
    ),
    _o("smtp.log_addresses", bool, False, "Include envelope addresses in the transaction log."),
    _o(
        "smtp.max_line_length",
        int,
        65536,
        "Longest accepted line in DATA, in bytes; longer gets 500 5.5.2.",
        minimum=1000,
    ),
    # --- pop3 ----------------------------------------------------------------------
    _o("pop3.listen", str, "127.0.0.1:1110", "POP3 (STLS) listener, host:port; empty disables it."),
    _o(
        "pop3.pop3s_listen", str, "", "POP3S (implicit TLS) listener, host:port; empty disables it."
    ),
    _o(
        "pop3.allow_plaintext_login",
        bool,
        False,
        "Accept USER/PASS/AUTH before STLS (only on trusted networks).",
    ),
    _o("pop3.idle_timeout", float, 600.0, "Seconds a POP3 session may stay idle."),
    _o(
        "pop3.proxy_protocol",
        bool,
        False,
        "Expect a PROXY protocol v1/v2 header (behind a load balancer), also on POP3S.",
    ),
    _o(
        "pop3.lock_ttl",
        float,
        30.0,
        "Seconds a POP3 session's mailbox lock ([IN-USE]) outlives a dead worker or node"
        " (then another may open the mailbox); the session renews it every third of this.",
        minimum=1,
    ),
    _o(
        "pop3.login_timeout",
        float,
        60.0,
        "Seconds a POP3 client may take to log in (TLS handshake included) before it is dropped.",
    ),
    # --- imap ----------------------------------------------------------------------
    _o(
        "imap.listen",
        str,
        "127.0.0.1:1143",
        "IMAP (STARTTLS) listener, host:port; empty disables it.",
    ),
    _o(
        "imap.imaps_listen", str, "", "IMAPS (implicit TLS) listener, host:port; empty disables it."
    ),
    _o(
        "imap.allow_plaintext_login",
        bool,
        False,
        "Accept LOGIN/AUTHENTICATE before STARTTLS (only on trusted networks).",
    ),
    _o(
        "imap.idle_timeout", float, 1800.0, "Seconds an IMAP session may stay idle (IDLE included)."
    ),
    _o(
        "imap.proxy_protocol",
        bool,
        False,
        "Expect a PROXY protocol v1/v2 header (behind a load balancer), also on IMAPS.",
    ),
    _o(
        "imap.idle_poll_interval",
        float,
        1.0,
        "Seconds between IDLE's looks at the store for changes made by other workers.",
        minimum=0.05,
    ),
    # --- login (POP3 and IMAP) -------------------------------------------------------
    _o(
        "login.max_concurrent_unlocks",
        int,
        4,
        "Argon2id unlocks running at once, per process (each needs 64 MiB); attempts"
        " beyond wait their turn, known client addresses first, then fairly by network.",
        minimum=1,
    ),
    _o(
        "login.failures_before_delay",
        int,
        3,
        "Failed logins from one client address before its answers are delayed.",
    ),
    _o(
        "login.max_delay",
        float,
        30.0,
        "Longest delay (seconds) added before answering a client address's failed login.",
    ),
    _o(
        "login.max_waiting",
        int,
        256,
        "Login attempts waiting for an unlock slot, in all; when full, the stranger with"
        " the most failures gives up its place (or the newcomer gets the failure reply).",
        minimum=1,
    ),
    _o(
        "login.max_waiting_per_address",
        int,
        8,
        "Login attempts of one failing client address waiting or unlocking at once (not"
        " for an address without recent failures or known for the mailbox); more get the"
        " failure reply.",
        minimum=1,
    ),
    _o(
        "login.unlock_cache_size",
        int,
        10000,
        "Mailboxes whose unlocked key a process keeps in memory for repeat logins with the"
        " same passphrase (least recently used dropped first; about 2.3 KiB each); 0"
        " disables the unlock cache (README: Security, Unlock cache).",
    ),
    _o(
        "login.unlock_cache_ttl",
        float,
        900.0,
        "Seconds after a mailbox's last successful login that a repeat login with the same"
        " passphrase skips Argon2id (per process); 0 disables the unlock cache.",
    ),
    _o(
        "login.lockout_failures",
        int,
        20,
        "Deprecated and ignored: logins are never locked out (README, Security). Old"
        " files that set it still load; `gateway config check` warns.",
    ),
    _o(
        "login.window",
        float,
        900.0,
        "Seconds over which a client address's failed logins are counted.",
    ),
    # --- web -----------------------------------------------------------------------
    _o(
        "web.listen",
        str,
        "127.0.0.1:8450",
        "Web console and API listener, host:port; empty disables it.",
    ),
    _o(
        "web.plain_http",
        bool,
        False,
        "Serve plain HTTP (only behind a TLS-terminating reverse proxy).",
    ),
    _o(
        "web.session_idle_timeout",
        float,
        1800.0,
        "Seconds of inactivity after which a console session ends.",
    ),
    _o(
        "web.idle_timeout",
        float,
        60.0,
        "Seconds a console connection may stay idle or take to send a request before it is closed.",
    ),
    _o(
        "web.metrics_token",
        str,
        "",
        "Bearer token /metrics requires; empty: web.metrics_token_file, else one generated"
        " in DATA/secrets/metrics-token on first start.",
    ),
    _o(
        "web.metrics_token_file",
        str,
        "",
        "File whose content is the /metrics bearer token (one token for several nodes);"
        " used when web.metrics_token is empty.",
    ),
    _o(
        "web.require_totp",
        list,
        [],
        "Roles that must use two-factor sign-in (superadmin, domain-admin, viewer), or"
        ' ["all"]; until they enrol, such admins can only enrol or sign out.',
        str,
        check="totp_roles",
    ),
    # --- relay (outbound: relay copies, robot replies) ------------------------------
    _o(
        "relay.smarthost",
        str,
        "",
        "Smarthost for all outbound mail (relay copies, robot replies), host:port; empty"
        " disables outbound mail.",
        check="hostport",
    ),
    _o(
        "relay.tls",
        str,
        "required",
        "TLS to the smarthost: required (implicit TLS or STARTTLS, else nothing is sent),"
        " verify (required plus certificate chain and host name checked; recommended) or"
        " opportunistic (STARTTLS when offered, else clear text).",
        choices=("required", "verify", "opportunistic"),
    ),
    _o(
        "relay.ca_file",
        str,
        "",
        "PEM CA bundle that relay.tls = verify checks the smarthost against (empty: the"
        " system CAs).",
        check="readable_file",
    ),
    _o(
        "relay.auth_user",
        str,
        "",
        "User name for SMTP AUTH at the smarthost; empty sends no AUTH.",
    ),
    _o(
        "relay.auth_password_file",
        str,
        "",
        "File (mode 0600) holding the smarthost AUTH password; set this or"
        " auth_password_env, not both.",
        check="readable_file",
    ),
    _o(
        "relay.auth_password_env",
        str,
        "",
        "Name of the environment variable holding the smarthost AUTH password.",
    ),
    _o(
        "relay.timeout",
        float,
        60.0,
        "Seconds the smarthost may take to answer any one command or accept a block of data.",
        minimum=1,
    ),
    _o(
        "relay.max_received",
        int,
        30,
        "A message whose relayed copy would carry more Received headers than this (ours"
        " included) is not relayed onward (loop guard); the local copy is kept.",
        minimum=1,
    ),
    # --- fetch sources (gateway/sources) -------------------------------------------
    _o(
        "fetch.enabled",
        bool,
        True,
        "Let serve fetch the active fetch sources on their intervals (gateway source run"
        " works either way).",
    ),
    _o(
        "fetch.concurrency",
        int,
        4,
        "Sources fetched at the same time per worker; the others wait their turn.",
        minimum=1,
    ),
    _o(
        "fetch.timeout",
        float,
        60.0,
        "Seconds a source server may stay silent before the run fails (cause timeout).",
        minimum=1,
    ),
    _o(
        "fetch.max_message_size",
        int,
        200 * MiB,
        "Largest message fetched, in bytes; larger ones are skipped, recorded and left at"
        " the source.",
        minimum=1,
    ),
    _o(
        "fetch.max_backoff",
        int,
        3600,
        "Longest wait, in seconds, before retrying a failing source (the wait doubles"
        " per failure in a row, with jitter, up to this).",
        minimum=10,
    ),
    _o(
        "fetch.lease_ttl",
        float,
        60.0,
        "Seconds a worker's hold on a source lasts unless renewed (it renews every third of"
        " it); after a crash the source is fetched again once it runs out.",
        minimum=1,
    ),
    # --- log -----------------------------------------------------------------------
    _o("log.format", str, "text", "Log format: text or json.", choices=("text", "json")),
    _o(
        "log.level",
        str,
        "info",
        "Log level: debug, info, warning or error.",
        choices=("debug", "info", "warning", "error"),
    ),
)

BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS}

# Options that still load, so old files keep working, but do nothing: the reason is
# what `gateway config check` warns with when a file or the environment sets one.
DEPRECATED: dict[str, str] = {
    "login.lockout_failures": "logins are never locked out (README: Security)",
}
