"""Admin accounts: argon2 password hashes, sealed TOTP secrets (the Admins area)."""

from __future__ import annotations

import builtins
import json
import re
import secrets
import time
from collections.abc import Iterable
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import AlreadyExists, InvalidInput, NotFound
from ..models import ROLES, Admin
from . import rows
from .database import Database
from .sealed import TOTP, SqliteSealing

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def generate_password() -> str:
    return secrets.token_urlsafe(18)


class SqliteAdmins:
    def __init__(
        self, db: Database, password_hasher: PasswordHasher, sealing: SqliteSealing
    ) -> None:
        self._db = db
        self._hasher = password_hasher
        self._sealing = sealing

    @cached_property
    def _dummy_password_hash(self) -> str:
        """Verified against when the account does not exist, so timing does not reveal
        names; made by this store's hasher, so it costs what a real account's check does."""
        return self._hasher.hash(secrets.token_urlsafe(16))

    def create(
        self,
        name: str,
        role: str = "superadmin",
        domains: Iterable[str] = (),
        password: str | None = None,
    ) -> tuple[Admin, str]:
        """Create an admin; returns it and its password (generated unless given)."""
        if not _NAME_RE.match(name):
            raise InvalidInput("admin names are 1-64 letters, digits, '.', '_', '@' or '-'")
        if role not in ROLES:
            raise InvalidInput("role must be one of {choices}", choices=", ".join(ROLES))
        password = password or generate_password()
        password_hash = self._hasher.hash(password)
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM admins WHERE name=?", (name,)).fetchone():
                raise AlreadyExists("admin {name} already exists", name=name)
            conn.execute(
                "INSERT INTO admins(name, role, password_hash, domains, created)"
                " VALUES (?,?,?,?,?)",
                (name, role, password_hash, json.dumps(sorted(domains)), time.time()),
            )
        return self.get(name), password

    def get(self, name: str) -> Admin:
        row = self._db.one_row("SELECT * FROM admins WHERE name=?", (name,), f"no admin {name}")
        return rows.admin(row)

    def list(self) -> list[Admin]:
        return [
            rows.admin(r) for r in self._db.conn().execute("SELECT * FROM admins ORDER BY name")
        ]

    def count(self) -> int:
        return self._db.conn().execute("SELECT count(*) FROM admins").fetchone()[0]

    def count_totp(self) -> int:
        """Admins with two-factor sign-in on."""
        sql = "SELECT count(*) FROM admins WHERE totp_secret IS NOT NULL"
        return self._db.conn().execute(sql).fetchone()[0]

    def verify_password(self, name: str, password: str) -> Admin | None:
        """The admin if the password is right and the account enabled; same cost either way."""
        dummy = self._dummy_password_hash  # made (once) whether the account exists or not
        row = self._db.conn().execute("SELECT * FROM admins WHERE name=?", (name,)).fetchone()
        stored = row["password_hash"] if row is not None else dummy
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        return rows.admin(row)

    def set_password(self, name: str, password: str | None = None) -> str:
        password = password or generate_password()
        self._update_admin(name, password_hash=self._hasher.hash(password))
        return password

    def update(
        self,
        name: str,
        *,
        role: str | None = None,
        domains: Iterable[str] | None = None,
        disabled: bool | None = None,
        language: str | None = None,
    ) -> Admin:
        fields: dict[str, object] = {}
        if role is not None:
            if role not in ROLES:
                raise InvalidInput("role must be one of {choices}", choices=", ".join(ROLES))
            fields["role"] = role
        if domains is not None:
            fields["domains"] = json.dumps(sorted(domains))
        if disabled is not None:
            fields["disabled"] = bool(disabled)
        if language is not None:
            fields["language"] = language
        self._update_admin(name, **fields)
        return self.get(name)

    def set_totp(self, name: str, secret: str | None, recovery_hashes: builtins.list[str]) -> None:
        """Store (or clear, with None) the TOTP secret, sealed, and the recovery codes'
        SHA-256 hashes, keyed (hashes from admin_totp() pass through unchanged).

        Clearing needs no seal key; storing one raises SealError without a usable key.
        """
        stored = None if secret is None else self._sealing.seal(TOTP, name, secret)
        keyed = self._sealing.keyed_recovery_hashes(name, recovery_hashes)
        self._update_admin(name, totp_secret=stored, recovery_codes=json.dumps(keyed))

    def totp(self, name: str) -> tuple[str | None, builtins.list[str]]:
        """(TOTP secret or None, keyed recovery code hashes: see recovery_code_digest);
        SealError when the secret cannot be unsealed."""
        row = self._db.one_row(
            "SELECT totp_secret, recovery_codes FROM admins WHERE name=?",
            (name,),
            f"no admin {name}",
        )
        secret = None if row[0] is None else self._sealing.unseal(TOTP, name, row[0])
        return secret, json.loads(row[1])

    def _update_admin(self, name: str, **fields: object) -> None:
        if not fields:
            return
        assignments = ", ".join(f"{column}=?" for column in fields)
        with self._db.write() as conn:
            cur = conn.execute(
                f"UPDATE admins SET {assignments} WHERE name=?",  # noqa: S608 (fixed names)
                (*fields.values(), name),
            )
            if cur.rowcount == 0:
                raise NotFound("no admin {name}", name=name)

    def delete(self, name: str) -> None:
        with self._db.write() as conn:
            if conn.execute("DELETE FROM admins WHERE name=?", (name,)).rowcount == 0:
                raise NotFound("no admin {name}", name=name)
