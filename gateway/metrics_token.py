"""The bearer token that guards /metrics: its per-mailbox series name every mailbox.

Where it comes from, first match wins:

1. `web.metrics_token`, the value itself;
2. `web.metrics_token_file`, the content of that file (surrounding whitespace removed):
   the way to give several nodes one token without writing it into the main config;
3. DATA/secrets/metrics-token, made on first start: 32 random bytes, URL-safe base64,
   mode 0600. `gateway serve --workers N` makes it in the parent before the workers
   start; the file appears atomically and only once (a process that loses a race to
   create it reads the winner's).

`gateway serve` (for the console) and `gateway metrics token` (to print it) both ask here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from storage.file_modes import publish_once

from .config import ConfigError, Settings

GENERATED = Path("secrets") / "metrics-token"
_RANDOM_BYTES = 32


@dataclass(frozen=True)
class MetricsToken:
    value: str = field(repr=False)
    source: str  # "web.metrics_token", or the file the token was read from


def metrics_token(settings: Settings, data_dir: Path) -> MetricsToken:
    """The token /metrics asks for; raises ConfigError (never showing it) when unusable."""
    if settings.web.metrics_token:
        return MetricsToken(
            _checked(settings.web.metrics_token, "web.metrics_token"), "web.metrics_token"
        )
    if settings.web.metrics_token_file:
        path = Path(settings.web.metrics_token_file)
        return MetricsToken(_read(path, f"web.metrics_token_file {path}"), str(path))
    path = Path(data_dir).absolute() / GENERATED  # absolute: shown to admins as the source
    if not path.exists():
        _create(path)
    return MetricsToken(_read(path, f"{path} (remove it to make a new one)"), str(path))


def _read(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: the token must be printable ASCII text") from None
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read it: {exc.strerror or exc}") from None
    return _checked(text.strip(), what)


def _checked(token: str, what: str) -> str:
    """The token as given, if an HTTP Authorization header can carry it."""
    if not token:
        raise ConfigError(f"{what}: the token is empty")
    if not all("!" <= c <= "~" for c in token):
        raise ConfigError(f"{what}: the token must be printable ASCII without spaces")
    return token


def _create(path: Path) -> None:
    """Make a new random token file (0600, atomically, once: a racing process's wins)."""
    publish_once(path, (secrets.token_urlsafe(_RANDOM_BYTES) + "\n").encode("ascii"))
