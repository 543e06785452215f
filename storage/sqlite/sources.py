"""Fetch sources in the index (the Sources area of the store contract).

`sources.secret` holds the credentials as one sealed value (JSON inside, sealed for
purpose "source" and the source id), so a copy of gateway.db alone shows none of them.
A fetched message and its tracking row are committed in one write transaction.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Collection, Mapping

from ..contract.blobs import Blobs
from ..delivery import Delivery
from ..errors import AlreadyExists, NotFound
from ..events import MailboxEvents
from ..models import MessageInfo
from ..sources import SECRET_PURPOSE, FetchedKey, Skipped, Source, SourceSettings, new_source_id
from .database import Database
from .messages import SqliteMessages
from .sealed import SqliteSealing

# A change of any of these means another mailbox at the source: forget what was fetched.
_IDENTITY = ("protocol", "host", "port", "username")


def _source(row: sqlite3.Row) -> Source:
    return Source(
        id=row["id"],
        mailbox_id=row["mailbox_id"],
        name=row["name"],
        settings=SourceSettings.from_document(json.loads(row["settings"])),
        active=bool(row["active"]),
        comment=row["comment"],
        created=row["created"],
        last_run=row["last_run"],
        last_count=row["last_count"],
        last_error=row["last_error"],
        failing=bool(row["failing"]),
        failures=row["failures"],
        last_success=row["last_success"],
    )


class SqliteSources:
    def __init__(
        self,
        db: Database,
        sealing: SqliteSealing,
        events: MailboxEvents,
        messages: SqliteMessages,
        blobs: Blobs,
    ) -> None:
        self._db = db
        self._sealing = sealing
        self._events = events
        self._messages = messages  # its index_published indexes a fetched copy
        self._blobs = blobs

    def _seal(self, source_id: str, secret: Mapping[str, str]) -> str:
        return self._sealing.seal(SECRET_PURPOSE, source_id, json.dumps(dict(secret)))

    def add(
        self,
        mailbox_id: str,
        name: str,
        settings: SourceSettings,
        secret: Mapping[str, str],
        *,
        comment: str = "",
        active: bool = True,
    ) -> Source:
        source_id = new_source_id()
        sealed = self._seal(source_id, secret)
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM mailboxes WHERE id=?", (mailbox_id,)).fetchone() is None:
                raise NotFound("no mailbox {mailbox}", mailbox=mailbox_id)
            try:
                conn.execute(
                    "INSERT INTO sources(id, mailbox_id, name, settings, secret, active, comment,"
                    " created) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        source_id,
                        mailbox_id,
                        name,
                        json.dumps(settings.document()),
                        sealed,
                        active,
                        comment,
                        time.time(),
                    ),
                )
            except (sqlite3.IntegrityError, AlreadyExists):  # AlreadyExists: PostgreSQL's
                raise AlreadyExists(
                    "the mailbox already has a source named {name}", name=name
                ) from None
        return self.get(source_id)

    def get(self, source_id: str) -> Source:
        row = self._db.one_row(
            "SELECT * FROM sources WHERE id=?", (source_id,), f"no source {source_id}"
        )
        return _source(row)

    def list(self, mailbox_id: str | None = None) -> builtins.list[Source]:
        sql, params = "SELECT * FROM sources", tuple[str, ...]()
        if mailbox_id is not None:
            sql, params = sql + " WHERE mailbox_id=?", (mailbox_id,)
        rows = self._db.conn().execute(sql + " ORDER BY mailbox_id, name", params)
        return [_source(r) for r in rows]

    def update(
        self,
        source_id: str,
        *,
        name: str | None = None,
        settings: SourceSettings | None = None,
        secret: Mapping[str, str] | None = None,
        active: bool | None = None,
        comment: str | None = None,
    ) -> Source:
        current = self.get(source_id)
        sealed = self._seal(source_id, secret) if secret is not None else None
        with self._db.write() as conn:
            try:
                conn.execute(
                    "UPDATE sources SET name=coalesce(?, name), settings=coalesce(?, settings),"
                    " secret=coalesce(?, secret), active=coalesce(?, active),"
                    " comment=coalesce(?, comment) WHERE id=?",
                    (
                        name,
                        None if settings is None else json.dumps(settings.document()),
                        sealed,
                        active,
                        comment,
                        source_id,
                    ),
                )
            except (sqlite3.IntegrityError, AlreadyExists):  # AlreadyExists: PostgreSQL's
                raise AlreadyExists(
                    "the mailbox already has a source named {name}", name=name
                ) from None
            if settings is not None and any(
                getattr(settings, k) != getattr(current.settings, k) for k in _IDENTITY
            ):
                conn.execute("DELETE FROM source_fetched WHERE source_id=?", (source_id,))
                conn.execute("DELETE FROM source_folders WHERE source_id=?", (source_id,))
        return self.get(source_id)

    def remove(self, source_id: str) -> None:
        with self._db.write() as conn:
            if not conn.execute("DELETE FROM sources WHERE id=?", (source_id,)).rowcount:
                raise NotFound("no source {source}", source=source_id)

    def secret(self, source_id: str) -> dict[str, str]:
        row = self._db.one_row(
            "SELECT secret FROM sources WHERE id=?", (source_id,), f"no source {source_id}"
        )
        return json.loads(self._sealing.unseal(SECRET_PURPOSE, source_id, row["secret"]))

    def record_run(
        self, source_id: str, *, at: float, count: int, error: str, failed: bool
    ) -> Source:
        with self._db.write() as conn:
            if failed:
                sql = (
                    "UPDATE sources SET last_run=?, last_count=?, last_error=?, failing=TRUE,"
                    " failures=failures+1 WHERE id=?"
                )
                params: tuple = (at, count, error, source_id)
            else:
                sql = (
                    "UPDATE sources SET last_run=?, last_count=?, last_error=?, failing=FALSE,"
                    " failures=0, last_success=? WHERE id=?"
                )
                params = (at, count, error, at, source_id)
            if not conn.execute(sql, params).rowcount:
                raise NotFound("no source {source}", source=source_id)
        return self.get(source_id)

    # --- tracking --------------------------------------------------------------------
    def folder_state(self, source_id: str, folder: str) -> tuple[int | None, set[str]]:
        conn = self._db.conn()
        row = conn.execute(
            "SELECT uidvalidity FROM source_folders WHERE source_id=? AND folder=?",
            (source_id, folder),
        ).fetchone()
        keys = conn.execute(
            "SELECT key FROM source_fetched WHERE source_id=? AND folder=?", (source_id, folder)
        )
        return (None if row is None else row[0]), {k[0] for k in keys}

    def reset_folder(self, source_id: str, folder: str, uidvalidity: int) -> int:
        with self._db.write() as conn:
            forgotten = conn.execute(
                "DELETE FROM source_fetched WHERE source_id=? AND folder=?", (source_id, folder)
            ).rowcount
            conn.execute(
                "INSERT INTO source_folders(source_id, folder, uidvalidity) VALUES (?,?,?)"
                " ON CONFLICT(source_id, folder) DO UPDATE SET uidvalidity=excluded.uidvalidity",
                (source_id, folder, uidvalidity),
            )
        return forgotten

    def forget_missing(self, source_id: str, folder: str, present: Collection[str]) -> int:
        _, known = self.folder_state(source_id, folder)
        gone = [(source_id, folder, k) for k in known - set(present)]
        if not gone:
            return 0
        with self._db.write() as conn:
            conn.executemany(
                "DELETE FROM source_fetched WHERE source_id=? AND folder=? AND key=?", gone
            )
        return len(gone)

    def commit_fetched(self, source_id: str, where: FetchedKey, delivery: Delivery) -> MessageInfo:
        try:
            published = delivery.publish()
            self._blobs.make_durable({published.directory})
            with self._db.write() as conn:
                info = self._messages.index_published(conn, published)
                self._track(conn, source_id, where, info.id, "", info.size)
        except BaseException:
            delivery.abort()
            raise
        self._events.publish(info.mailbox_id, "exists")
        return info

    def skip(self, source_id: str, where: FetchedKey, reason: str, size: int) -> None:
        with self._db.write() as conn:
            self._track(conn, source_id, where, None, reason, size)

    @staticmethod
    def _track(
        conn: sqlite3.Connection,
        source_id: str,
        where: FetchedKey,
        message_id: str | None,
        reason: str,
        size: int,
    ) -> None:
        conn.execute(
            "INSERT INTO source_folders(source_id, folder, uidvalidity) VALUES (?,?,?)"
            " ON CONFLICT(source_id, folder) DO NOTHING",
            (source_id, where.folder, where.uidvalidity),
        )
        conn.execute(
            "INSERT INTO source_fetched(source_id, folder, key, message_id,"
            " skip_reason, size, at) VALUES (?,?,?,?,?,?,?)"
            " ON CONFLICT(source_id, folder, key) DO UPDATE SET message_id=excluded.message_id,"
            " skip_reason=excluded.skip_reason, size=excluded.size, at=excluded.at",
            (source_id, where.folder, where.key, message_id, reason, size, time.time()),
        )

    def skipped(self, source_id: str) -> builtins.list[Skipped]:
        rows = self._db.conn().execute(
            "SELECT folder, key, skip_reason, size, at FROM source_fetched"
            " WHERE source_id=? AND message_id IS NULL ORDER BY at DESC",
            (source_id,),
        )
        return [Skipped(r[0], r[1], r[2], r[3], r[4]) for r in rows]
