"""Where the index is (`storage.index`): "sqlite", or a PostgreSQL URL.

Shared by the configuration checks, `config show` and the store factory, so the rule
is one. A URL may carry a password (given through the environment); `redacted` is the
form that may be shown or logged.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
_SCHEMES = ("postgresql", "postgres")


def index_kind(value: str) -> str | None:
    """SQLITE, POSTGRESQL, or None for anything else."""
    text = value.strip()
    if text.lower() == SQLITE:
        return SQLITE
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() in _SCHEMES and parts.netloc and parts.path.strip("/"):
        return POSTGRESQL
    return None


def redacted(value: str) -> str:
    """The URL with any password replaced by ***; anything unparsable as a placeholder."""
    if index_kind(value) != POSTGRESQL:
        return value if value.strip().lower() == SQLITE else "(not an index URL)"
    parts = urlsplit(value.strip())
    if parts.password is None:
        return value.strip()
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
