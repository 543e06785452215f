"""Relay targets and the memory of relayed copies, in the index (contract/relays.py)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from .. import relay
from ..errors import InvalidInput, NotFound
from ..models import RelayTarget
from .addresses import normalize_address
from .database import Database

_SELECT = "SELECT mailbox_id, address, policy, created_by, created FROM relay_targets"


class SqliteRelays:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self, mailbox_id: str) -> list[RelayTarget]:
        rows = self._db.conn().execute(
            _SELECT + " WHERE mailbox_id=? ORDER BY created, address",
            (mailbox_id,),
        )
        return [RelayTarget(*row) for row in rows]

    def put(self, mailbox_id: str, address: str, policy: str, actor: str) -> RelayTarget:
        target = RelayTarget(
            mailbox_id, normalize_address(address), relay.check_policy(policy), actor, time.time()
        )
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM mailboxes WHERE id=?", (mailbox_id,)).fetchone() is None:
                raise NotFound("no mailbox {ref}", ref=mailbox_id)
            others = conn.execute(
                "SELECT count(*) FROM relay_targets WHERE mailbox_id=? AND address<>?",
                (mailbox_id, target.address),
            ).fetchone()[0]
            if others >= relay.MAX_TARGETS:
                raise InvalidInput(
                    "a mailbox relays to at most {limit} addresses", limit=relay.MAX_TARGETS
                )
            conn.execute(
                "INSERT INTO relay_targets(mailbox_id, address, policy, created_by, created)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(mailbox_id, address) DO UPDATE SET policy=excluded.policy,"
                " created_by=excluded.created_by, created=excluded.created",
                (target.mailbox_id, target.address, target.policy, actor, target.created),
            )
        return target

    def remove(self, mailbox_id: str, address: str) -> RelayTarget:
        try:
            normalized = normalize_address(address)
        except InvalidInput:
            normalized = address
        with self._db.write() as conn:
            row = conn.execute(
                _SELECT + " WHERE mailbox_id=? AND address=?",
                (mailbox_id, normalized),
            ).fetchone()
            if row is None:
                raise NotFound(
                    "{address} is not a relay target of {ref}", address=address, ref=mailbox_id
                )
            conn.execute(
                "DELETE FROM relay_targets WHERE mailbox_id=? AND address=?",
                (mailbox_id, normalized),
            )
        return RelayTarget(*row)

    def sent(self, tags: Iterable[bytes], now: float) -> set[bytes]:
        wanted = list(tags)
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        rows = self._db.conn().execute(
            f"SELECT tag FROM relay_sent WHERE expires>? AND tag IN ({marks})",  # noqa: S608
            (now, *wanted),
        )
        return {bytes(row[0]) for row in rows}

    def remember(self, tags: Iterable[bytes], expires: float) -> None:
        rows = [(tag, expires) for tag in tags]
        with self._db.write() as conn:
            conn.execute("DELETE FROM relay_sent WHERE expires<=?", (time.time(),))
            conn.executemany(
                "INSERT INTO relay_sent(tag, expires) VALUES (?, ?)"
                " ON CONFLICT(tag) DO UPDATE SET expires=excluded.expires",
                rows,
            )
