"""Built-in ACME state in the index (the Certificates area of the store contract).

Private keys are sealed under the gateway key (purpose "acme-account" for the account
key, "acme-key" with the certificate's fingerprint for the certificate's key), so a copy
of the index alone holds neither. HTTP-01 key authorizations are not secret (the CA
fetches them over plain HTTP) and are stored as they are. The SQL is portable
(ON CONFLICT ... DO UPDATE) for the PostgreSQL store, which reuses this class.
"""

from __future__ import annotations

import time

from ..acme_status import TOKEN_PATTERN, AcmeStatus, leaf_sha256
from ..contract.certificates import LiveCertificate
from .database import Database
from .sealed import SqliteSealing

ACCOUNT_PURPOSE = "acme-account"
KEY_PURPOSE = "acme-key"
_ROW = "default"
_LIVE = "live"


class SqliteCertificates:
    def __init__(self, db: Database, sealing: SqliteSealing) -> None:
        self._db = db
        self._sealing = sealing

    # --- the ACME account ------------------------------------------------------------
    def account_key(self) -> str | None:
        row = (
            self._db.conn()
            .execute("SELECT sealed_key FROM acme_account WHERE name=?", (_ROW,))
            .fetchone()
        )
        return None if row is None else self._sealing.unseal(ACCOUNT_PURPOSE, _ROW, row[0])

    def keep_account_key(self, jwk_json: str) -> str:
        sealed = self._sealing.seal(ACCOUNT_PURPOSE, _ROW, jwk_json)
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO acme_account(name, sealed_key, created) VALUES (?,?,?)"
                " ON CONFLICT(name) DO NOTHING",
                (_ROW, sealed, time.time()),
            )
        stored = self.account_key()
        assert stored is not None  # just written, or written before
        return stored

    # --- the live certificate --------------------------------------------------------
    def live(self, *, with_key: bool = True) -> LiveCertificate | None:
        row = (
            self._db.conn()
            .execute(
                "SELECT chain, sealed_key, sha256, directory, stored FROM acme_certificates"
                " WHERE name=?",
                (_LIVE,),
            )
            .fetchone()
        )
        if row is None:
            return None
        key = self._sealing.unseal(KEY_PURPOSE, row[2], row[1]) if with_key else ""
        return LiveCertificate(row[0], key, row[2], row[3], row[4])

    def live_sha256(self) -> str | None:
        row = (
            self._db.conn()
            .execute("SELECT sha256 FROM acme_certificates WHERE name=?", (_LIVE,))
            .fetchone()
        )
        return None if row is None else row[0]

    def put_live(self, chain_pem: str, key_pem: str, directory: str) -> LiveCertificate:
        sha256 = leaf_sha256(chain_pem)
        sealed = self._sealing.seal(KEY_PURPOSE, sha256, key_pem)
        now = time.time()
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO acme_certificates(name, chain, sealed_key, sha256, directory, stored)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET chain=excluded.chain,"
                " sealed_key=excluded.sealed_key, sha256=excluded.sha256,"
                " directory=excluded.directory, stored=excluded.stored",
                (_LIVE, chain_pem, sealed, sha256, directory, now),
            )
        return LiveCertificate(chain_pem, key_pem, sha256, directory, now)

    # --- status ----------------------------------------------------------------------
    def status(self) -> AcmeStatus | None:
        row = (
            self._db.conn()
            .execute("SELECT document FROM acme_status WHERE name=?", (_ROW,))
            .fetchone()
        )
        return None if row is None else AcmeStatus.from_json(row[0])

    def put_status(self, status: AcmeStatus) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO acme_status(name, document, updated) VALUES (?,?,?)"
                " ON CONFLICT(name) DO UPDATE SET document=excluded.document,"
                " updated=excluded.updated",
                (_ROW, status.to_json().decode(), time.time()),
            )

    # --- HTTP-01 challenges ----------------------------------------------------------
    def add_challenge(self, token: str, key_authorization: str, ttl: float) -> None:
        if not TOKEN_PATTERN.match(token):
            raise ValueError("an ACME challenge token is 16 to 128 base64url characters")
        now = time.time()
        with self._db.write() as conn:
            conn.execute("DELETE FROM acme_challenges WHERE expires<?", (now,))
            conn.execute(
                "INSERT INTO acme_challenges(token, key_authorization, expires) VALUES (?,?,?)"
                " ON CONFLICT(token) DO UPDATE SET key_authorization=excluded.key_authorization,"
                " expires=excluded.expires",
                (token, key_authorization, now + ttl),
            )

    def challenge(self, token: str) -> str | None:
        row = (
            self._db.conn()
            .execute(
                "SELECT key_authorization FROM acme_challenges WHERE token=? AND expires>=?",
                (token, time.time()),
            )
            .fetchone()
        )
        return None if row is None else row[0]

    def remove_challenge(self, token: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM acme_challenges WHERE token=?", (token,))
