"""Secrets sealed under the gateway key, on the PostgreSQL index (as storage/sqlite/sealed.py).

Only sealing secrets left in clear differs: no SQLite pragmas or VACUUM, and NULL-safe
comparison spelled the PostgreSQL way. (A PostgreSQL index is never written by a version
that kept them in clear, but one copied from an old SQLite index may hold some.)
"""

from __future__ import annotations

from ..sealing import Sealer
from ..sqlite.sealed import SqliteSealing, log


class PostgresSealing(SqliteSealing):
    def _seal_plaintext_totp(self, sealer: Sealer) -> None:
        changes = self._plaintext_changes(sealer)
        if not changes:
            return
        with self._db.write() as conn:
            conn.executemany(
                "UPDATE admins SET totp_secret=?, recovery_codes=?"
                " WHERE name=? AND totp_secret IS NOT DISTINCT FROM ? AND recovery_codes=?",
                changes,
            )
        log.info("sealed the two-factor secrets of %d admins (left in clear before)", len(changes))
