"""Console sessions and named API tokens.

Only SHA-256 hashes of their random secrets are stored: a copy of the index gives no one
a usable cookie or token. The raw secret exists only in the caller's hands.
"""

from __future__ import annotations

import builtins
from typing import Protocol

from ..models import AdminSession, ApiToken


class Sessions(Protocol):
    def create(
        self, admin: str, source: str = "", user_agent: str = "", now: float | None = None
    ) -> tuple[AdminSession, str]:
        """A new session; returns it and the raw secret for the cookie. NotFound for no admin."""
        ...

    def get(self, raw: str) -> AdminSession | None:
        """The session with this secret, or None (never an error for a wrong one)."""
        ...

    def touch(self, raw: str, now: float | None = None) -> None:
        """Record activity (last_seen)."""
        ...

    def set_data(self, raw: str, data: dict) -> None:
        """Replace the session's small JSON document."""
        ...

    def delete(self, raw: str) -> None:
        """End the session (no error when there is none)."""
        ...

    def list(self, admin: str) -> builtins.list[AdminSession]:
        """The admin's sessions, most recently active first."""
        ...

    def delete_for_admin(self, admin: str, keep_raw: str | None = None) -> int:
        """End every session of `admin` but the one whose secret is `keep_raw`; how many."""
        ...

    def purge(self, idle_before: float, created_before: float) -> int:
        """Remove sessions idle since `idle_before` or created before `created_before`."""
        ...

    def signing_key(self, name: str) -> bytes:
        """The named random 32-byte key the console signs with (CSRF tokens): made once,
        then the same for every process and node on this store, so that a form served by
        one is accepted by another. ValueError for a malformed name (names are constants)."""
        ...


class ApiTokens(Protocol):
    def create(self, admin: str, name: str, now: float | None = None) -> tuple[ApiToken, str]:
        """A named token acting as `admin`; returns it and the secret (shown once).
        InvalidInput for a bad name; NotFound for no admin."""
        ...

    def get(self, token_id: str) -> ApiToken:
        """NotFound when there is no such token."""
        ...

    def list(self, admin: str | None = None) -> builtins.list[ApiToken]:
        """Every token (of `admin`)."""
        ...

    def verify(self, raw: str, now: float | None = None) -> ApiToken | None:
        """The token for this secret (its last use recorded, at most once a minute), or
        None for any wrong or revoked secret."""
        ...

    def revoke(self, token_id: str, admin: str | None = None) -> None:
        """Delete a token; with `admin`, only if that admin owns it (NotFound otherwise)."""
        ...
