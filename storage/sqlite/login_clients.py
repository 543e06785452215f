"""Known-good login clients: the addresses each mailbox was successfully opened from.

The retrieval login scheduler (gateway/login.py) serves these addresses ahead of
strangers, so a flood of wrong passphrases cannot keep a mailbox's own archiver out.
The list lives in the index, not in a process: every worker process and every restart
sees the same one. It is bounded per mailbox (the most recent KNOWN_LOGIN_CLIENTS),
forgotten with the mailbox, and forgotten when the passphrase is reset (whoever used
the lost passphrase is a stranger to the new one).
"""

from __future__ import annotations

import sqlite3
import time

from .database import Database

KNOWN_LOGIN_CLIENTS = 16  # addresses remembered per mailbox


class SqliteLoginClients:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, mailbox_id: str, client_address: str = "") -> None:
        """A successful login: the mailbox's last_login, and its client address known."""
        now = time.time()
        with self._db.write() as conn:
            conn.execute("UPDATE mailboxes SET last_login=? WHERE id=?", (now, mailbox_id))
            if client_address:
                _remember(conn, mailbox_id, client_address, now)

    def known(self, mailbox_id: str) -> list[str]:
        """The addresses remembered for the mailbox, most recent login first."""
        rows = self._db.conn().execute(
            "SELECT address FROM login_clients WHERE mailbox_id=? ORDER BY last_ok DESC",
            (mailbox_id,),
        )
        return [row[0] for row in rows]

    def is_known(self, mailbox_id: str, client_address: str) -> bool:
        row = (
            self._db.conn()
            .execute(
                "SELECT 1 FROM login_clients WHERE mailbox_id=? AND address=?",
                (mailbox_id, client_address),
            )
            .fetchone()
        )
        return row is not None


def _remember(conn: sqlite3.Connection, mailbox_id: str, address: str, now: float) -> None:
    # INSERT ... SELECT: a mailbox deleted while its session logged in gets no row.
    conn.execute(
        "INSERT INTO login_clients(mailbox_id, address, last_ok)"
        " SELECT id, ?, ? FROM mailboxes WHERE id=?"
        " ON CONFLICT(mailbox_id, address) DO UPDATE SET last_ok=excluded.last_ok",
        (address, now, mailbox_id),
    )
    conn.execute(
        "DELETE FROM login_clients WHERE mailbox_id=? AND address NOT IN"
        " (SELECT address FROM login_clients WHERE mailbox_id=?"
        "  ORDER BY last_ok DESC LIMIT ?)",
        (mailbox_id, mailbox_id, KNOWN_LOGIN_CLIENTS),
    )


def forget_login_clients(conn: sqlite3.Connection, mailbox_id: str) -> None:
    """Inside the caller's write transaction (mailbox deletion, passphrase reset)."""
    conn.execute("DELETE FROM login_clients WHERE mailbox_id=?", (mailbox_id,))
