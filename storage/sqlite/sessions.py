"""Console sessions and named API tokens.

Only SHA-256 hashes of the random values are stored: a copy of gateway.db gives no
one a usable session cookie or API token. The raw value exists only in the caller's
hands (the cookie, or the token shown once).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time

from ..errors import InvalidInput, NotFound
from ..ids import random_base32
from ..models import AdminSession, ApiToken
from ..signing_keys import SIGNING_KEY_BYTES, check_signing_key_name
from . import rows
from .database import Database

TOKEN_PREFIX = "jgw_"  # noqa: S105 (a prefix, not a secret)
_TOKEN_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class SqliteSessions:
    """Console sessions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self, admin: str, source: str = "", user_agent: str = "", now: float | None = None
    ) -> tuple[AdminSession, str]:
        """A new session for `admin`; returns it and the raw secret for the cookie."""
        raw = secrets.token_urlsafe(32)
        now = time.time() if now is None else now
        public_id = "ses-" + random_base32(12).lower()
        with self._db.write() as conn:
            if not conn.execute("SELECT 1 FROM admins WHERE name=?", (admin,)).fetchone():
                raise NotFound("no admin {name}", name=admin)
            conn.execute(
                "INSERT INTO admin_sessions(hash, id, admin, created, last_seen, source,"
                " user_agent, data) VALUES (?,?,?,?,?,?,?,'{}')",
                (_digest(raw), public_id, admin, now, now, source[:64], user_agent[:256]),
            )
        session = self.get(raw)
        if session is None:  # only if the admin was deleted in between
            raise NotFound("no admin {name}", name=admin)
        return session, raw

    def get(self, raw: str) -> AdminSession | None:
        row = (
            self._db.conn()
            .execute("SELECT * FROM admin_sessions WHERE hash=?", (_digest(raw),))
            .fetchone()
        )
        return rows.admin_session(row) if row is not None else None

    def touch(self, raw: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._db.write() as conn:
            conn.execute("UPDATE admin_sessions SET last_seen=? WHERE hash=?", (now, _digest(raw)))

    def set_data(self, raw: str, data: dict) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE admin_sessions SET data=? WHERE hash=?", (json.dumps(data), _digest(raw))
            )

    def delete(self, raw: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM admin_sessions WHERE hash=?", (_digest(raw),))

    def list(self, admin: str) -> list[AdminSession]:
        cur = self._db.conn().execute(
            "SELECT * FROM admin_sessions WHERE admin=? ORDER BY last_seen DESC", (admin,)
        )
        return [rows.admin_session(r) for r in cur]

    def delete_for_admin(self, admin: str, keep_raw: str | None = None) -> int:
        """End every session of `admin` (but the one whose secret is `keep_raw`)."""
        keep = _digest(keep_raw) if keep_raw else ""
        with self._db.write() as conn:
            cur = conn.execute(
                "DELETE FROM admin_sessions WHERE admin=? AND hash<>?", (admin, keep)
            )
        return cur.rowcount

    def signing_key(self, name: str) -> bytes:
        check_signing_key_name(name)
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO web_secrets(name, value, created) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO NOTHING",
                (name, secrets.token_bytes(SIGNING_KEY_BYTES), time.time()),
            )
            row = conn.execute("SELECT value FROM web_secrets WHERE name = ?", (name,)).fetchone()
        return bytes(row["value"])

    def purge(self, idle_before: float, created_before: float) -> int:
        """Remove sessions idle since `idle_before` or created before `created_before`."""
        with self._db.write() as conn:
            cur = conn.execute(
                "DELETE FROM admin_sessions WHERE last_seen<? OR created<?",
                (idle_before, created_before),
            )
        return cur.rowcount


class SqliteApiTokens:
    """Named API tokens."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, admin: str, name: str, now: float | None = None) -> tuple[ApiToken, str]:
        """A named token acting as `admin`; returns it and the secret (shown once)."""
        name = name.strip()
        if not _TOKEN_NAME_RE.match(name):
            raise InvalidInput("a token name is 1-64 printable characters")
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = "tok-" + random_base32(12).lower()
        now = time.time() if now is None else now
        with self._db.write() as conn:
            if not conn.execute("SELECT 1 FROM admins WHERE name=?", (admin,)).fetchone():
                raise NotFound("no admin {name}", name=admin)
            conn.execute(
                "INSERT INTO api_tokens(hash, id, admin, name, created) VALUES (?,?,?,?,?)",
                (_digest(raw), token_id, admin, name, now),
            )
        return self.get(token_id), raw

    def get(self, token_id: str) -> ApiToken:
        row = self._db.one_row(
            "SELECT * FROM api_tokens WHERE id=?", (token_id,), f"no API token {token_id}"
        )
        return rows.api_token(row)

    def list(self, admin: str | None = None) -> list[ApiToken]:
        if admin is None:
            cur = self._db.conn().execute("SELECT * FROM api_tokens ORDER BY admin, created")
        else:
            cur = self._db.conn().execute(
                "SELECT * FROM api_tokens WHERE admin=? ORDER BY created", (admin,)
            )
        return [rows.api_token(r) for r in cur]

    def verify(self, raw: str, now: float | None = None) -> ApiToken | None:
        """The token for this secret (its last use recorded), or None."""
        if not raw.startswith(TOKEN_PREFIX):
            return None
        digest = _digest(raw)
        conn = self._db.conn()
        row = conn.execute("SELECT * FROM api_tokens WHERE hash=?", (digest,)).fetchone()
        if row is None:
            return None
        now = time.time() if now is None else now
        if row["last_used"] is None or now - row["last_used"] > 60:
            with self._db.write() as wconn:
                wconn.execute("UPDATE api_tokens SET last_used=? WHERE hash=?", (now, digest))
        return rows.api_token(row)

    def revoke(self, token_id: str, admin: str | None = None) -> None:
        """Delete a token; with `admin`, only if that admin owns it."""
        sql, args = "DELETE FROM api_tokens WHERE id=?", [token_id]
        if admin is not None:
            sql += " AND admin=?"
            args.append(admin)
        with self._db.write() as conn:
            if conn.execute(sql, args).rowcount == 0:
                raise NotFound("no API token {token}", token=token_id)
