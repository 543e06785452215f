"""Admins: console accounts with argon2 password hashes and optional sealed TOTP."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Protocol

from ..models import Admin


class Admins(Protocol):
    def create(
        self,
        name: str,
        role: str = "superadmin",
        domains: Iterable[str] = (),
        password: str | None = None,
    ) -> tuple[Admin, str]:
        """Create an admin; returns it and its password (generated unless given), which
        is stored only as an argon2 hash. InvalidInput for a bad name or role;
        AlreadyExists."""
        ...

    def get(self, name: str) -> Admin:
        """NotFound when there is no such admin."""
        ...

    def list(self) -> builtins.list[Admin]:
        """Every admin by name."""
        ...

    def count(self) -> int: ...

    def count_totp(self) -> int:
        """Admins with two-factor sign-in on."""
        ...

    def verify_password(self, name: str, password: str) -> Admin | None:
        """The admin if the password is right and the account enabled, else None.
        Costs the same whether the account exists or not (no name oracle)."""
        ...

    def set_password(self, name: str, password: str | None = None) -> str:
        """Set (or generate) the password; returns it. NotFound."""
        ...

    def update(
        self,
        name: str,
        *,
        role: str | None = None,
        domains: Iterable[str] | None = None,
        disabled: bool | None = None,
        language: str | None = None,
    ) -> Admin:
        """Change the given fields; InvalidInput for a bad role (nothing changed); NotFound."""
        ...

    def set_totp(self, name: str, secret: str | None, recovery_hashes: builtins.list[str]) -> None:
        """Store (or clear, with None) the TOTP secret, sealed under the gateway key, and
        the recovery codes' hashes, keyed. Storing raises SealError without a usable key;
        clearing never does. NotFound."""
        ...

    def totp(self, name: str) -> tuple[str | None, builtins.list[str]]:
        """(TOTP secret or None, keyed recovery code hashes); SealError when the secret
        cannot be unsealed; NotFound."""
        ...

    def delete(self, name: str) -> None:
        """Delete the admin (its sessions and tokens go with it); NotFound."""
        ...
