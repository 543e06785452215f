"""Secrets sealed under the gateway key inside the index (storage/sealing.py).

At open, with a sealer: a check value in `meta` (a constant sealed under the key)
tells whether the key is the one this index's secrets were sealed with. When it is,
TOTP secrets still stored in plaintext (older versions) are sealed, in a transaction
with secure_delete on, after which the WAL is checkpointed and truncated, so the
plaintext leaves both gateway.db and gateway.db-wal. When it is not, and sealed
secrets exist, they are left untouched (nothing is lost: the right key opens them
again) and reading or writing them raises SealError with what to do; a key whose
index holds nothing sealed any more is adopted.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from ..errors import SealError
from ..sealing import Sealer, is_keyed, is_sealed
from .database import Database

log = logging.getLogger("storage.sealing")

CHECK_KEY = "seal_check"
_CHECK = ("check", "index", "journal-gateway seal key check")
TOTP = "totp"
RECOVERY = "recovery"

NO_SEALER = (
    "two-factor (TOTP) secrets are sealed with the gateway's seal key, and none is"
    " configured here (secrets.seal_key or secrets.seal_key_file)"
)


def _mismatch(origin: str) -> str:
    return (
        f"{origin} is not the seal key this index's TOTP secrets were sealed with:"
        " put the original key back (secrets.seal_key, secrets.seal_key_file or"
        " DATA/secrets/seal.key), or turn two-factor sign-in off for the admins"
        " concerned (gateway admin disable-totp NAME) so that they enrol again"
    )


class SqliteSealing:
    """The gateway-key sealing the store offers (checked against the index at open)."""

    def __init__(self, db: Database, sealer: Sealer | None) -> None:
        self._db = db
        self.sealer, self._seal_problem = sealer, None
        if sealer is None:
            self._seal_problem = NO_SEALER
            return
        if not self._key_matches(sealer):
            self._seal_problem = _mismatch(sealer.origin)
            return
        self._seal_plaintext_totp(sealer)

    def problem(self) -> str | None:
        """Why TOTP secrets cannot be used now (no key, wrong key), or None."""
        return self._seal_problem

    def _sealer_or_raise(self) -> Sealer:
        if self._seal_problem is not None or self.sealer is None:
            raise SealError(self._seal_problem or NO_SEALER)
        return self.sealer

    def seal(self, purpose: str, owner: str, plaintext: str) -> str:
        """`plaintext` sealed under the gateway key for (purpose, owner); SealError without one."""
        return self._sealer_or_raise().seal(purpose, owner, plaintext)

    def unseal(self, purpose: str, owner: str, sealed: str) -> str:
        return self._sealer_or_raise().unseal(purpose, owner, sealed)

    def recovery_code_digest(self, admin: str, code_hash: str) -> str:
        """The form a recovery code's hash is stored in: keyed with the gateway key."""
        return self._sealer_or_raise().keyed_digest(RECOVERY, admin, code_hash)

    def derived_digest(self, purpose: str, owner: str, value: str) -> str:
        return self._sealer_or_raise().derived_digest(purpose, owner, value)

    def keyed_recovery_hashes(self, admin: str, hashes: list[str]) -> list[str]:
        """Hashes as stored: those not keyed yet (new codes, older versions) are keyed."""
        return [h if is_keyed(h) else self.recovery_code_digest(admin, h) for h in hashes]

    # --- open ------------------------------------------------------------------------
    def _key_matches(self, sealer: Sealer) -> bool:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (CHECK_KEY, sealer.seal(*_CHECK)),
            )
            check = conn.execute("SELECT value FROM meta WHERE key=?", (CHECK_KEY,)).fetchone()[0]
            try:
                sealer.unseal(_CHECK[0], _CHECK[1], check)
                return True
            except SealError:
                pass
            sealed = conn.execute(
                "SELECT count(*) FROM admins WHERE totp_secret LIKE 'sealed:%'"
            ).fetchone()[0]
            # The store's own index has these tables (either index): plain counts in
            # portable SQL (sealed_*_count, on sqlite_master, are for older index copies).
            sealed += conn.execute(
                "SELECT (SELECT count(*) FROM sources) + (SELECT count(*) FROM acme_account)"
                " + (SELECT count(*) FROM acme_certificates)"
            ).fetchone()[0]
            if sealed:
                return False
            conn.execute("UPDATE meta SET value=? WHERE key=?", (sealer.seal(*_CHECK), CHECK_KEY))
            log.warning("now sealing with %s: nothing is sealed under the old key", sealer.origin)
            return True

    def _plaintext_changes(self, sealer: Sealer) -> list[tuple]:
        """(sealed secret, keyed codes, name, old secret, old codes) for each admin whose
        TOTP secret or recovery code hashes older versions left in clear."""
        conn = self._db.conn()
        changes = []
        for name, secret, codes in conn.execute(
            "SELECT name, totp_secret, recovery_codes FROM admins"
        ).fetchall():
            hashes = json.loads(codes)
            sealed = secret
            if secret is not None and not is_sealed(secret):
                sealed = sealer.seal(TOTP, name, secret)
            keyed = [h if is_keyed(h) else sealer.keyed_digest(RECOVERY, name, h) for h in hashes]
            if sealed != secret or keyed != hashes:
                changes.append((sealed, json.dumps(keyed), name, secret, codes))
        return changes

    def _seal_plaintext_totp(self, sealer: Sealer) -> None:
        """Seal TOTP secrets and key recovery code hashes left in clear by older versions."""
        changes = self._plaintext_changes(sealer)
        if not changes:
            return
        conn = self._db.conn()
        conn.execute("PRAGMA secure_delete=ON")
        try:
            with self._db.write() as tx:
                tx.executemany(
                    "UPDATE admins SET totp_secret=?, recovery_codes=?"
                    " WHERE name=? AND totp_secret IS ? AND recovery_codes=?",
                    changes,
                )
        finally:
            conn.execute("PRAGMA secure_delete=FAST")
        log.info("sealed the two-factor secrets of %d admins (left in clear before)", len(changes))
        try:
            # Once: rewrite the file so no free page keeps an older plaintext copy, then
            # move the new pages into gateway.db and empty the WAL, which held the old ones.
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("could not compact the index after sealing TOTP secrets: %s", exc)


def sealed_source_count(conn: sqlite3.Connection) -> int:
    """Fetch sources, each with sealed credentials (0 for an index older than them)."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='sources'"
    ).fetchone()
    return 0 if found is None else int(conn.execute("SELECT count(*) FROM sources").fetchone()[0])


def sealed_acme_count(conn: sqlite3.Connection) -> int:
    """Sealed ACME keys (account, certificate) in the index (0 for one older than them)."""
    found = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type='table'"
        " AND name IN ('acme_account', 'acme_certificates')"
    ).fetchone()[0]
    if found < 2:
        return 0
    return int(
        conn.execute(
            "SELECT (SELECT count(*) FROM acme_account) + (SELECT count(*) FROM acme_certificates)"
        ).fetchone()[0]
    )


def seal_state(conn: sqlite3.Connection, sealer: Sealer | None) -> tuple[int, bool | None]:
    """(sealed TOTP secrets and source credentials in the index `conn` opens, whether
    `sealer` is their key).

    The second value is None when it cannot be told: no sealer, or no check value yet.
    For restore, which looks at an index copy before any store opens it.
    """
    sealed = (
        conn.execute("SELECT count(*) FROM admins WHERE totp_secret LIKE 'sealed:%'").fetchone()[0]
        + sealed_source_count(conn)
        + sealed_acme_count(conn)
    )
    row = conn.execute("SELECT value FROM meta WHERE key=?", (CHECK_KEY,)).fetchone()
    if sealer is None or row is None:
        return sealed, None
    try:
        sealer.unseal(_CHECK[0], _CHECK[1], row[0])
    except SealError:
        return sealed, False
    return sealed, True
