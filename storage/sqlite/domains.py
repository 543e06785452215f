"""Accepted domains (the Domains area of the store contract)."""

from __future__ import annotations

import builtins
import time

from ..errors import AlreadyExists, NotFound
from ..listing import DAY, DomainOverview
from ..models import Domain
from .addresses import normalize_domain, refuse_domain_in_use
from .database import Database
from .mailbox_page import domain_overview


class SqliteDomains:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, name: str) -> Domain:
        name = normalize_domain(name)
        now = time.time()
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM domains WHERE name=?", (name,)).fetchone():
                raise AlreadyExists("domain {name} already exists", name=name)
            conn.execute("INSERT INTO domains(name, created) VALUES (?, ?)", (name, now))
        return Domain(name, now, 0)

    def list(self) -> list[Domain]:
        sql = (
            "SELECT d.name, d.created, count(m.id) AS n FROM domains d "
            "LEFT JOIN mailboxes m ON m.domain=d.name GROUP BY d.name ORDER BY d.name"
        )
        return [Domain(r["name"], r["created"], r["n"]) for r in self._db.conn().execute(sql)]

    def overview(
        self, domains: tuple[str, ...] | None = None, now: float | None = None
    ) -> builtins.list[DomainOverview]:
        since = (time.time() if now is None else now) - DAY
        return domain_overview(self._db, domains, since)

    def get(self, name: str) -> Domain:
        name = normalize_domain(name)
        row = (
            self._db.conn()
            .execute(
                "SELECT d.name, d.created, (SELECT count(*) FROM mailboxes m WHERE m.domain=d.name)"
                " AS n FROM domains d WHERE d.name=?",
                (name,),
            )
            .fetchone()
        )
        if row is None:
            raise NotFound("no domain {name}", name=name)
        return Domain(row["name"], row["created"], row["n"])

    def canonical(self, name: str) -> str:
        """The accepted domain's name (NotFound if none): without counting its mailboxes,
        which each mailbox creation would otherwise pay for."""
        name = normalize_domain(name)
        if not self._db.conn().execute("SELECT 1 FROM domains WHERE name=?", (name,)).fetchone():
            raise NotFound("no domain {name}", name=name)
        return name

    def names(self) -> set[str]:
        return {r[0] for r in self._db.conn().execute("SELECT name FROM domains")}

    def remove(self, name: str) -> None:
        name = normalize_domain(name)
        with self._db.write() as conn:
            if not conn.execute("SELECT 1 FROM domains WHERE name=?", (name,)).fetchone():
                raise NotFound("no domain {name}", name=name)
            refuse_domain_in_use(conn, name)
            conn.execute("DELETE FROM domains WHERE name=?", (name,))
