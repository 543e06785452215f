"""The audit log: who did what to which object, from where (the AuditLog area)."""

from __future__ import annotations

import builtins
import time

from ..models import AuditEntry
from . import rows
from .database import Database


class SqliteAuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self, actor: str, action: str, target: str = "", detail: str = "", source: str = ""
    ) -> None:
        """Record an event. Callers pass names and ids only: never a secret or content."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO audit(time, actor, action, target, detail, source)"
                " VALUES (?,?,?,?,?,?)",
                (time.time(), actor, action, target, detail, source),
            )

    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 200,
        before_id: int | None = None,
    ) -> builtins.list[AuditEntry]:
        clauses: builtins.list[str] = []
        args: builtins.list[object] = []
        for column, value in (("actor", actor), ("action", action), ("target", target)):
            if value:
                clauses.append(f"lower({column}) LIKE lower(?)")
                args.append(f"%{value}%")
        if before_id is not None:
            clauses.append("id < ?")
            args.append(before_id)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        cur = self._db.conn().execute(
            f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*args, limit),
        )
        return [rows.audit(r) for r in cur]
