"""Robots and their reply memory (the Robots area of the store contract)."""

from __future__ import annotations

import time

from ..errors import NotFound
from ..robot_rules import Robot, RobotSettings
from .database import Database
from .sealed import SqliteSealing

SENDER_PURPOSE = "robot-sender"


class SqliteRobots:
    def __init__(self, db: Database, sealing: SqliteSealing) -> None:
        self._db = db
        self._sealing = sealing

    def get(self, mailbox_id: str) -> Robot | None:
        row = (
            self._db.conn()
            .execute("SELECT * FROM robots WHERE mailbox_id=?", (mailbox_id,))
            .fetchone()
        )
        if row is None:
            return None
        return Robot(
            subject=row["subject"],
            text=row["body"],
            starts=row["starts"],
            ends=row["ends"],
            copy_to=row["copy_to"],
            interval_days=row["interval_days"],
            mailbox_id=row["mailbox_id"],
            updated=row["updated"],
        )

    def set(self, mailbox_id: str, settings: RobotSettings) -> Robot:
        with self._db.write() as conn:
            if not conn.execute("SELECT 1 FROM mailboxes WHERE id=?", (mailbox_id,)).fetchone():
                raise NotFound("no mailbox {ref}", ref=mailbox_id)
            conn.execute(
                "INSERT INTO robots(mailbox_id, subject, body, starts, ends, copy_to,"
                " interval_days, updated) VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT(mailbox_id) DO UPDATE SET subject=excluded.subject,"
                " body=excluded.body, starts=excluded.starts, ends=excluded.ends,"
                " copy_to=excluded.copy_to, interval_days=excluded.interval_days,"
                " updated=excluded.updated",
                (
                    mailbox_id,
                    settings.subject,
                    settings.text,
                    settings.starts,
                    settings.ends,
                    settings.copy_to,
                    settings.interval_days,
                    time.time(),
                ),
            )
        robot = self.get(mailbox_id)
        assert robot is not None
        return robot

    def clear(self, mailbox_id: str) -> bool:
        with self._db.write() as conn:
            conn.execute("DELETE FROM robot_replies WHERE mailbox_id=?", (mailbox_id,))
            removed = conn.execute("DELETE FROM robots WHERE mailbox_id=?", (mailbox_id,))
            return removed.rowcount > 0

    def claim_reply(self, mailbox_id: str, sender: str, now: float, interval: float) -> bool:
        digest = self._sealing.derived_digest(SENDER_PURPOSE, mailbox_id, sender.lower())
        with self._db.write() as conn:
            # Forget what no interval can still need (INTERVAL_MAX is a year).
            conn.execute(
                "DELETE FROM robot_replies WHERE mailbox_id=? AND sent < ?",
                (mailbox_id, now - 366 * 86400.0),
            )
            row = conn.execute(
                "SELECT sent FROM robot_replies WHERE mailbox_id=? AND sender_mac=?",
                (mailbox_id, digest),
            ).fetchone()
            if row is not None and now - row[0] < interval:
                return False
            conn.execute(
                "INSERT INTO robot_replies(mailbox_id, sender_mac, sent) VALUES (?,?,?)"
                " ON CONFLICT(mailbox_id, sender_mac) DO UPDATE SET sent=excluded.sent",
                (mailbox_id, digest, now),
            )
        return True

    def release_reply(self, mailbox_id: str, sender: str, claimed_at: float) -> None:
        digest = self._sealing.derived_digest(SENDER_PURPOSE, mailbox_id, sender.lower())
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM robot_replies WHERE mailbox_id=? AND sender_mac=? AND sent=?",
                (mailbox_id, digest, claimed_at),
            )
