"""Value checks on typed settings: the rules `serve` relies on, checked before anything runs.

`load_settings` calls `option_problem` on every value it reads and `cross_checks` on the
result, for every command (`serve`, `config check`, the rest of the CLI), so a file that
`config check` calls valid is one `serve` starts with. Checks return problems instead of
raising, so one run reports every problem of a file.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.errors import InvalidInput
from storage.index_location import index_kind
from storage.policy import check_totp_requirement
from storage.s3.location import S3Location

from .schema import OPTIONS, Option


@dataclass(frozen=True)
class Problem:
    """One configuration problem: the key (or name as written), where it is set, what is wrong."""

    key: str
    where: str
    message: str

    def __str__(self) -> str:
        if not self.key or not self.where:
            return f"{self.key or self.where}: {self.message}"
        return f"{self.key} ({self.where}): {self.message}"


def parse_hostport(value: str) -> tuple[str, int]:
    """("host", port) from "host:port", "[v6]:port" or ":port" (all addresses)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected host:port, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 (explicit ":port" means all)


def _hostport_problem(value: Any) -> str | None:
    if not value:
        return None
    try:
        parse_hostport(value)
    except ValueError as exc:
        return str(exc)
    return None


def _networks_problem(values: Any) -> str | None:
    bad = []
    for value in values:
        try:
            ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            bad.append(repr(value))
    if bad:
        return f"not a network in CIDR notation (e.g. 192.0.2.0/24): {', '.join(bad)}"
    return None


def _readable_file_problem(value: Any) -> str | None:
    if value and not os.access(value, os.R_OK):
        return f"cannot read {value}"
    return None


def _totp_roles_problem(values: Any) -> str | None:
    """`web.require_totp`: storage.policy's rule, the one the console enforces."""
    try:
        check_totp_requirement(str(value) for value in values)
    except ValueError as exc:
        return str(exc)
    return None


def _blobs_problem(value: Any) -> str | None:
    """`storage.blobs`: files, or an s3:// location storage/s3/location.py accepts."""
    if value == "files":
        return None
    try:
        S3Location.parse(str(value))
    except InvalidInput as exc:
        return str(exc)
    return None


# Option.check names → the function that returns a problem message for a value, or None.
MAX_WORKERS = 64


def worker_count(value: str, cpu_count: int | None = None) -> int:
    """serve.workers as a number: "auto" is one per CPU core (at most MAX_WORKERS)."""
    if value.strip().lower() == "auto":
        return max(1, min(MAX_WORKERS, cpu_count or os.cpu_count() or 1))
    return int(value)


def _workers_problem(value: Any) -> str | None:
    text = str(value).strip().lower()
    if text == "auto" or (text.isdigit() and 1 <= int(text) <= MAX_WORKERS):
        return None
    return f"expected auto or a number from 1 to {MAX_WORKERS}, got {value!r}"


def _index_problem(value: Any) -> str | None:
    """storage.index; the message never repeats the value (it may hold a password)."""
    if index_kind(str(value)) is None:
        return "expected sqlite or a postgresql://USER@HOST:PORT/DB URL"
    return None


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "index": _index_problem,
    "hostport": _hostport_problem,
    "workers": _workers_problem,
    "networks": _networks_problem,
    "totp_roles": _totp_roles_problem,
    "blobs": _blobs_problem,
}
# Checks of this machine's state rather than of the value: made on the effective value
# only, so a file naming certbot paths is fine when the environment points elsewhere.
EFFECTIVE_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "readable_file": _readable_file_problem,
}


def option_problem(option: Option, value: Any) -> str | None:
    """What is wrong with one typed value of `option`, or None."""
    if option.choices and value not in option.choices:
        return f"expected one of {', '.join(option.choices)}, got {value!r}"
    if option.minimum is not None and value < option.minimum:
        return f"must be at least {option.minimum}, got {value!r}"
    if option.check in CHECKS:
        return CHECKS[option.check](value)
    return None


def cross_checks(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[Problem]:
    """Rules between options, on the effective values (a key left out had a problem)."""
    problems = [
        *_argon2_problems(values, sources),
        *_metrics_token_problems(values, sources),
        *_seal_key_problems(values, sources),
        *_acme_problems(values, sources),
        *_relay_auth_problems(values, sources),
        *_s3_problems(values, sources),
    ]
    for option in OPTIONS:
        if option.check in EFFECTIVE_CHECKS and option.key in values:
            message = EFFECTIVE_CHECKS[option.check](values[option.key])
            if message:
                problems.append(Problem(option.key, sources[option.key], message))
    cert, key = values.get("tls.cert"), values.get("tls.key")
    if cert is None or key is None:
        return problems
    if bool(cert) != bool(key):
        given, missing = ("tls.cert", "tls.key") if cert else ("tls.key", "tls.cert")
        message = f"tls.cert and tls.key must be given together ({missing} is empty)"
        return [*problems, Problem(given, sources[given], message)]
    if cert and not {p.key for p in problems} & {"tls.cert", "tls.key"}:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
        except (OSError, ssl.SSLError):
            message = "cannot load this certificate with tls.key (not PEM, or not its key)"
            problems.append(Problem("tls.cert", sources["tls.cert"], message))
    return problems


def _acme_problems(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[Problem]:
    """tls.acme next to configured certificate files, or a renewal schedule that cannot work."""
    if not values.get("tls.acme"):
        return []
    problems = []
    for key in ("tls.cert", "tls.key"):
        if values.get(key):
            message = f"tls.acme = true gets the certificate itself: leave {key} empty"
            problems.append(Problem(key, sources[key], message))
    fraction = values.get("tls.acme_renew_fraction")
    if fraction is not None and not 0 < fraction < 1:
        key = "tls.acme_renew_fraction"
        problems.append(Problem(key, sources[key], f"must be between 0 and 1, got {fraction}"))
    low, high = values.get("tls.acme_retry_min"), values.get("tls.acme_retry_max")
    if low is not None and high is not None and high < low:
        key = "tls.acme_retry_max"
        message = f"must be at least tls.acme_retry_min ({low}), got {high}"
        problems.append(Problem(key, sources[key], message))
    directory = values.get("tls.acme_directory", "")
    if not str(directory).startswith(("https://", "http://")):
        key = "tls.acme_directory"
        problems.append(Problem(key, sources[key], f"not an http(s) URL: {directory!r}"))
    return problems


def _argon2_problems(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[Problem]:
    """Argon2id needs at least 8 KiB of memory per lane."""
    memory, lanes = values.get("crypto.argon2_memory_kib"), values.get("crypto.argon2_lanes")
    if memory is None or lanes is None or memory >= 8 * lanes:
        return []
    message = f"Argon2id needs at least 8 KiB per lane: {8 * lanes} for {lanes} lanes"
    key = "crypto.argon2_memory_kib"
    return [Problem(key, sources[key], message)]


def _metrics_token_problems(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[Problem]:
    """A configured /metrics token (or token file) that `serve` would refuse.

    The generated token (neither option set) lives in the data directory, which is not
    known here: `serve` makes and checks it.
    """
    from ..metrics_token import metrics_token  # it imports gateway.config: no cycle at load

    keys = ("web.metrics_token", "web.metrics_token_file")
    key = next((k for k in keys if values.get(k)), None)
    if key is None or any(k not in values for k in keys):
        return []
    try:
        metrics_token(_settings(values, sources), Path())  # configured: nothing is written
    except ValueError as exc:
        return [Problem(key, sources[key], _detail(exc, key, sources[key]))]
    return []


def _seal_key_problems(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[Problem]:
    """secrets.seal_key / seal_key_file set to something that is not a seal key."""
    from ..store_factory import configured_sealer  # it imports gateway.config

    text_key, file_key = "secrets.seal_key", "secrets.seal_key_file"
    if text_key not in values or file_key not in values:
        return []
    if values[text_key] and values[file_key]:
        message = f"{text_key} and {file_key} ({sources[file_key]}) are both set: set only one"
        return [Problem(text_key, sources[text_key], message)]
    key = text_key if values[text_key] else file_key
    try:
        configured_sealer(_settings(values, sources), data_dir=None)
    except ValueError as exc:
        return [Problem(key, sources[key], _detail(exc, key, sources[key]))]
    return []


def _relay_auth_problems(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[Problem]:
    """Smarthost AUTH needs a user and exactly one password source (file or variable)."""
    keys = ("relay.auth_user", "relay.auth_password_file", "relay.auth_password_env")
    if any(key not in values for key in keys):
        return []
    user, password_file, password_env = (values[key] for key in keys)
    if password_file and password_env:
        message = "set relay.auth_password_file or relay.auth_password_env, not both"
        return [Problem(keys[1], sources[keys[1]], message)]
    if user and not (password_file or password_env):
        message = "relay.auth_user needs relay.auth_password_file or relay.auth_password_env"
        return [Problem(keys[0], sources[keys[0]], message)]
    if (password_file or password_env) and not user:
        key = keys[1] if password_file else keys[2]
        return [Problem(key, sources[key], "a smarthost password needs relay.auth_user")]
    return []


def _s3_problems(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[Problem]:
    """With s3:// blobs: credentials that are set once, readable, and not empty."""
    from ..store_factory import S3_KEYS, configured_s3  # it imports gateway.config

    if any(key not in values for key in S3_KEYS):
        return []  # a problem of its own was reported for it
    try:
        configured_s3(_settings(values, sources))
    except ValueError as exc:  # a ConfigError: its problems name the key and where
        return list(getattr(exc, "problems", [Problem("storage.blobs", "", str(exc))]))
    return []


def _settings(values: Mapping[str, Any], sources: Mapping[str, str]) -> Any:
    from .loader import Settings  # the loader imports this module

    return Settings(dict(values), dict(sources))


def _detail(exc: ValueError, key: str, where: str) -> str:
    """The message of a ConfigError raised elsewhere, without the key it starts with
    (the Problem names the key and where it is set)."""
    problems = getattr(exc, "problems", None)
    message = problems[0].message if problems else str(exc)
    for prefix in (f"{key} ({where}): ", f"{key}: ", f"{key} "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message
