"""Admin accounts (argon2 password hashes) and the audit log."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import AlreadyExists, InvalidInput, NotFound
from ..models import ROLES, Admin, AuditEntry
from . import rows
from .base import StoreBase

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_hasher = PasswordHasher()
# Verified against when the account does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def generate_password() -> str:
    return secrets.token_urlsafe(18)


class AdminsMixin(StoreBase):
    def create_admin(
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
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM admins WHERE name=?", (name,)).fetchone():
                raise AlreadyExists("admin {name} already exists", name=name)
            conn.execute(
                "INSERT INTO admins(name, role, password_hash, domains, created)"
                " VALUES (?,?,?,?,?)",
                (name, role, _hasher.hash(password), json.dumps(sorted(domains)), time.time()),
            )
        return self.get_admin(name), password

    def get_admin(self, name: str) -> Admin:
        row = self._one_row("SELECT * FROM admins WHERE name=?", (name,), f"no admin {name}")
        return rows.admin(row)

    def list_admins(self) -> list[Admin]:
        return [rows.admin(r) for r in self.db.conn().execute("SELECT * FROM admins ORDER BY name")]

    def count_admins(self) -> int:
        return self.db.conn().execute("SELECT count(*) FROM admins").fetchone()[0]

    def verify_admin_password(self, name: str, password: str) -> Admin | None:
        """The admin if the password is right and the account enabled; same cost either way."""
        row = self.db.conn().execute("SELECT * FROM admins WHERE name=?", (name,)).fetchone()
        stored = row["password_hash"] if row is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        return rows.admin(row)

    def set_admin_password(self, name: str, password: str | None = None) -> str:
        password = password or generate_password()
        self._update_admin(name, password_hash=_hasher.hash(password))
        return password

    def update_admin(
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
            fields["disabled"] = int(disabled)
        if language is not None:
            fields["language"] = language
        self._update_admin(name, **fields)
        return self.get_admin(name)

    def set_admin_totp(self, name: str, secret: str | None, recovery_hashes: list[str]) -> None:
        """Store (or clear, with None) the TOTP secret and hashed recovery codes."""
        self._update_admin(name, totp_secret=secret, recovery_codes=json.dumps(recovery_hashes))

    def admin_totp(self, name: str) -> tuple[str | None, list[str]]:
        row = self._one_row(
            "SELECT totp_secret, recovery_codes FROM admins WHERE name=?",
            (name,),
            f"no admin {name}",
        )
        return row[0], json.loads(row[1])

    def _update_admin(self, name: str, **fields: object) -> None:
        if not fields:
            return
        assignments = ", ".join(f"{column}=?" for column in fields)
        with self.db.write() as conn:
            cur = conn.execute(
                f"UPDATE admins SET {assignments} WHERE name=?",  # noqa: S608 (fixed names)
                (*fields.values(), name),
            )
            if cur.rowcount == 0:
                raise NotFound("no admin {name}", name=name)

    def delete_admin(self, name: str) -> None:
        with self.db.write() as conn:
            if conn.execute("DELETE FROM admins WHERE name=?", (name,)).rowcount == 0:
                raise NotFound("no admin {name}", name=name)

    # --- audit ---------------------------------------------------------------------
    def audit(
        self, actor: str, action: str, target: str = "", detail: str = "", source: str = ""
    ) -> None:
        """Record an event. Callers pass names and ids only: never a secret or content."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO audit(time, actor, action, target, detail, source)"
                " VALUES (?,?,?,?,?,?)",
                (time.time(), actor, action, target, detail, source),
            )

    def list_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 200,
        before_id: int | None = None,
    ) -> list[AuditEntry]:
        clauses, args = [], []
        for column, value in (("actor", actor), ("action", action), ("target", target)):
            if value:
                clauses.append(f"{column} LIKE ?")
                args.append(f"%{value}%")
        if before_id is not None:
            clauses.append("id < ?")
            args.append(before_id)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        cur = self.db.conn().execute(
            f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*args, limit),
        )
        return [rows.audit(r) for r in cur]
