"""The one way times leave the gateway as text: ISO 8601 in UTC, to the second.

The CLI's --json documents and the JSON API both use it (web/ cannot import gateway/,
so it lives here), so a script reading either sees the same format.
"""

from __future__ import annotations

import time


def iso_utc(value: float | None) -> str | None:
    """Unix time as "2025-01-31T12:00:00Z"; None stays None (e.g. never logged in)."""
    if value is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))
