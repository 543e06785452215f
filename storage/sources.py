"""Fetch sources: external POP3/IMAP mailboxes whose mail the gateway pulls into one of
its encrypted mailboxes. The records and the rules the console, the API and the CLI
share (web cannot import gateway, so they live here once).

A source's settings are plain values (host, port, TLS mode, folders, ...). Its
credentials (a password, or the OAuth2 client secret and refresh token) are the
gateway's own secrets, which it must read unattended: the store keeps them sealed
under the gateway's seal key (storage/sealing.py, purpose SECRET_PURPOSE, owner the
source id), never in a record, a repr, a log line or an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InvalidInput
from .ids import random_base32

SOURCE_PROTOCOLS = ("pop3", "imap")
TLS_MODES = ("implicit", "starttls", "none")
AUTH_METHODS = ("password", "gmail", "office365")
OAUTH_PROVIDERS = ("gmail", "office365")
DEFAULT_PORTS = {
    ("pop3", "implicit"): 995,
    ("pop3", "starttls"): 110,
    ("pop3", "none"): 110,
    ("imap", "implicit"): 993,
    ("imap", "starttls"): 143,
    ("imap", "none"): 143,
}
DEFAULT_INTERVAL = 300
MIN_INTERVAL, MAX_INTERVAL = 10, 7 * 86400
SECRET_PURPOSE = "source"  # noqa: S105 (a sealing purpose, not a secret)
# What each way of signing in needs in the credentials (an --oauth-file's JSON keys).
SECRET_KEYS = {
    "password": ("password",),
    "gmail": ("client_id", "client_secret", "refresh_token"),
    "office365": ("tenant_id", "client_id", "client_secret"),
}
# Optional: where the provider's token service is (sovereign clouds; the tests' local one).
OPTIONAL_SECRET_KEYS = {"password": (), "gmail": ("token_uri",), "office365": ("authority",)}
POP3_FOLDER = ""  # POP3 has one maildrop; its tracking rows use this folder name
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def new_source_id() -> str:
    return "src-" + random_base32(16).lower()


@dataclass(frozen=True)
class SourceSettings:
    """Where and how to fetch; no secret. Built with `checked_settings`."""

    protocol: str
    host: str
    port: int
    username: str
    tls: str = "implicit"
    insecure: bool = False  # needed for tls "none": the password then travels in clear
    ca_file: str | None = None  # verify against this CA bundle instead of the system's
    fingerprint: str | None = None  # or pin the server certificate's SHA-256 (hex)
    auth: str = "password"
    folders: tuple[str, ...] = ()
    keep: bool = False  # keep at the source (tracked) instead of deleting after the commit
    interval: int = DEFAULT_INTERVAL

    def document(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "tls": self.tls,
            "insecure": self.insecure,
            "ca_file": self.ca_file,
            "fingerprint": self.fingerprint,
            "auth": self.auth,
            "folders": list(self.folders),
            "keep": self.keep,
            "interval": self.interval,
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> SourceSettings:
        return cls(**{**doc, "folders": tuple(doc.get("folders", ()))})


@dataclass(frozen=True)
class Source:
    id: str
    mailbox_id: str
    name: str
    settings: SourceSettings
    active: bool
    comment: str
    created: float
    last_run: float | None = None
    last_count: int = 0
    last_error: str = ""
    failing: bool = False  # the last run failed (authentication, connection, TLS ...)
    failures: int = 0  # failed runs in a row, for the back-off
    last_success: float | None = None
    has_secret: bool = field(default=True, compare=False)

    def document(self) -> dict[str, Any]:
        """The keys `--json` and the API show (times as Unix seconds; faces format them)."""
        return {
            "id": self.id,
            "mailbox": self.mailbox_id,
            "name": self.name,
            **self.settings.document(),
            "active": self.active,
            "comment": self.comment,
            "failing": self.failing,
            "last_count": self.last_count,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class FetchedKey:
    """Where one source message was: its folder ("" for POP3), the folder's UIDVALIDITY
    (0 for POP3), and its key there (the POP3 UIDL, or the IMAP UID as text)."""

    folder: str
    uidvalidity: int
    key: str


@dataclass(frozen=True)
class Skipped:
    """A source message that was not imported (too big, malformed), and why."""

    folder: str
    key: str
    reason: str
    size: int
    at: float


# --- the rules ----------------------------------------------------------------------
def _text(value: str, what: str, limit: int) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > limit or _CONTROL.search(cleaned):
        raise InvalidInput(
            "{what} must be 1 to {limit} characters without control characters",
            what=what,
            limit=limit,
        )
    return cleaned


def normalize_fingerprint(text: str) -> str:
    """A SHA-256 certificate fingerprint as 64 lower-case hex digits (colons, spaces and
    a "sha256:" prefix accepted); InvalidInput otherwise."""
    cleaned = re.sub(r"[\s:]", "", text.strip().lower())
    cleaned = cleaned.removeprefix("sha256")
    if not _FINGERPRINT.match(cleaned):
        raise InvalidInput("a certificate fingerprint is the SHA-256 as 64 hex digits")
    return cleaned


def checked_settings(
    *,
    protocol: str,
    host: str,
    username: str,
    port: int | None = None,
    tls: str = "implicit",
    insecure: bool = False,
    ca_file: str | None = None,
    fingerprint: str | None = None,
    auth: str = "password",
    folders: tuple[str, ...] | list[str] = (),
    keep: bool = False,
    interval: int = DEFAULT_INTERVAL,
) -> SourceSettings:
    """Settings validated and normalized (default port, folders); InvalidInput naming
    the first problem."""
    protocol = protocol.strip().lower()
    if protocol not in SOURCE_PROTOCOLS:
        raise InvalidInput("protocol must be pop3 or imap")
    if tls not in TLS_MODES:
        raise InvalidInput("TLS mode must be implicit, starttls or none")
    if tls == "none" and not insecure:
        raise InvalidInput(
            "TLS mode none sends the password in clear: it needs the explicit insecure flag"
        )
    if ca_file and fingerprint:
        raise InvalidInput("give a CA file or a certificate fingerprint, not both")
    if auth not in AUTH_METHODS:
        raise InvalidInput("authentication must be password, gmail or office365")
    if auth != "password" and protocol != "imap":
        raise InvalidInput("OAuth2 sign-in is offered for IMAP sources only")
    if port is None:
        port = DEFAULT_PORTS[(protocol, tls)]
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInput("port must be a number from 1 to 65535")
    if isinstance(interval, bool) or not isinstance(interval, int):
        raise InvalidInput("interval must be a whole number of seconds")
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise InvalidInput(
            "interval must be {low} to {high} seconds", low=MIN_INTERVAL, high=MAX_INTERVAL
        )
    if protocol == "pop3" and folders:
        raise InvalidInput("POP3 has no folders: --folder is for IMAP sources")
    chosen = tuple(dict.fromkeys(_text(f, "a folder name", 200) for f in folders))
    return SourceSettings(
        protocol=protocol,
        host=_host(host),
        port=port,
        username=_text(username, "the user name", 256),
        tls=tls,
        insecure=bool(insecure),
        ca_file=_text(ca_file, "the CA file", 4096) if ca_file else None,
        fingerprint=normalize_fingerprint(fingerprint) if fingerprint else None,
        auth=auth,
        folders=chosen or (("INBOX",) if protocol == "imap" else ()),
        keep=bool(keep),
        interval=interval,
    )


def changed_settings(current: SourceSettings, changes: Mapping[str, Any]) -> SourceSettings:
    """`current` with `changes` applied (None values ignored), validated again. A new
    TLS mode or protocol without a port takes that mode's default port."""
    wanted = {k: v for k, v in changes.items() if v is not None}
    merged = replace(current, **{k: v for k, v in wanted.items() if k != "port"})
    port = wanted.get("port")
    if port is None and ("tls" in wanted or "protocol" in wanted):
        if current.port == DEFAULT_PORTS[(current.protocol, current.tls)]:
            port = None  # followed the default: keep following it
        else:
            port = current.port
    elif port is None:
        port = current.port
    values = merged.__dict__ | {"port": port}
    if "fingerprint" in wanted and wanted["fingerprint"]:
        values["ca_file"] = None
    if "ca_file" in wanted and wanted["ca_file"]:
        values["fingerprint"] = None
    if values["protocol"] == "pop3":
        values["folders"] = ()
    return checked_settings(**values)


def _host(value: str) -> str:
    host = _text(value, "the host", 253)
    if any(c.isspace() or c in "/@" for c in host):
        raise InvalidInput("the host must be a host name or an IP address")
    return host


def check_name(name: str) -> str:
    return _text(name, "the source name", 100)


def check_comment(comment: str) -> str:
    cleaned = comment.strip()
    if len(cleaned) > 1000 or _CONTROL.search(cleaned.replace("\n", " ")):
        raise InvalidInput("the comment must be at most 1000 characters of text")
    return cleaned


def check_secret(auth: str, secret: Mapping[str, Any]) -> dict[str, str]:
    """The credentials a way of signing in needs, as strings; InvalidInput naming what
    is missing (never a value)."""
    wanted = SECRET_KEYS[auth]
    missing = [k for k in wanted if not isinstance(secret.get(k), str) or not secret[k].strip()]
    if missing:
        raise InvalidInput("the {auth} credentials need {keys}", auth=auth, keys=", ".join(missing))
    values = {k: secret[k].strip() if k != "password" else secret[k] for k in wanted}
    for key in OPTIONAL_SECRET_KEYS[auth]:
        value = secret.get(key)
        if isinstance(value, str) and value.strip():
            if not value.strip().startswith("https://"):
                raise InvalidInput("{key} must be an https:// URL", key=key)
            values[key] = value.strip()
    if any(_CONTROL.search(v) for v in values.values()):
        raise InvalidInput("credentials must not hold control characters (CR, LF, NUL ...)")
    return values
