"""Relay targets and the memory of relayed copies, in the index (contract/relays.py)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from .. import relay
from ..errors import InvalidInput, NotFound
from ..models import RelayTarget
from ..sealing import Sealer, SealError
from .addresses import normalize_address
from .database import Database
from .sealed import NO_SEALER, SqliteSealing

_SELECT = "SELECT mailbox_id, address, policy, created_by, created FROM relay_targets"


SENT_PURPOSE, CHAIN_PURPOSE = "relay-sent", "relay-chain"


class SqliteRelays:
    def __init__(self, db: Database, sealing: SqliteSealing) -> None:
        self._db = db
        self._sealing = sealing  # its key digests the relayed-copy memory

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

    def chain_mark(self, mailbox_id: str) -> str:
        return self._sealer().keyed_digest(CHAIN_PURPOSE, mailbox_id, "")[-32:]

    def already_relayed(
        self, mailbox_id: str, message_key: str, targets: Iterable[str]
    ) -> set[str]:
        tags = {self._tag(mailbox_id, message_key, target): target for target in targets}
        if not tags:
            return set()
        marks = ",".join("?" * len(tags))
        rows = self._db.conn().execute(
            f"SELECT tag FROM relay_sent WHERE expires>? AND tag IN ({marks})",  # noqa: S608
            (time.time(), *tags),
        )
        return {tags[row[0]] for row in rows}

    def remember_relayed(
        self, mailbox_id: str, message_key: str, targets: Iterable[str], expires: float
    ) -> None:
        rows = [(self._tag(mailbox_id, message_key, target), expires) for target in targets]
        with self._db.write() as conn:
            conn.execute("DELETE FROM relay_sent WHERE expires<=?", (time.time(),))
            conn.executemany(
                "INSERT INTO relay_sent(tag, expires) VALUES (?, ?)"
                " ON CONFLICT(tag) DO UPDATE SET expires=excluded.expires",
                rows,
            )

    def _tag(self, mailbox_id: str, message_key: str, target: str) -> str:
        return self._sealer().keyed_digest(SENT_PURPOSE, mailbox_id, f"{target}\0{message_key}")

    def _sealer(self) -> Sealer:
        if self._sealing.sealer is None:
            raise SealError(NO_SEALER)
        return self._sealing.sealer
