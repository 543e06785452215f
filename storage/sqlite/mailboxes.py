"""Mailboxes and their addresses (the Mailboxes area of the store contract)."""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping

from .. import passphrase as passphrases
from .. import policy
from ..contract.blobs import Blobs
from ..errors import AlreadyExists, InvalidInput, NotEmpty, NotFound
from ..events import MailboxEvents
from ..ids import new_mailbox_id
from ..listing import MailboxPage, MailboxQuery
from ..models import PROTOCOLS, STATUSES, Mailbox
from . import rows
from .addresses import networks, normalize_address, normalize_domain
from .database import Database
from .domains import SqliteDomains
from .epochs import EpochSealer, insert_epoch
from .login_clients import forget_login_clients
from .mailbox_page import mailbox_page


class SqliteMailboxes:
    def __init__(
        self,
        db: Database,
        blobs: Blobs,
        events: MailboxEvents,
        domains: SqliteDomains,
        epochs: EpochSealer,
    ) -> None:
        self._db = db
        self._blobs = blobs
        self._events = events
        self._domains = domains
        self._epochs = epochs

    def create(
        self,
        domain: str,
        name: str = "",
        description: str = "",
        aliases: Iterable[str] = (),
        quota: int = 0,
        status: str = "active",
        *,
        actor: policy.Actor,
    ) -> tuple[Mailbox, str]:
        """Create a mailbox; returns it and its passphrase (the only time it exists).

        `actor` (an Admin, or policy.OPERATOR for the CLI) must be allowed to use the
        domain and every alias (storage/policy.py); nothing is created otherwise.
        """
        policy.check_domain(actor, normalize_domain(domain))
        domain = self._domains.canonical(domain)
        self._check_status(status)
        if quota < 0:
            raise InvalidInput("quota must be 0 (unlimited) or a positive number of bytes")
        alias_list = self._validate_new_addresses(aliases, actor)
        mailbox_id = new_mailbox_id()
        primary = f"{mailbox_id}@{domain}"
        passphrase = passphrases.generate()
        first_epoch = self._epochs.new_epoch(mailbox_id, 1, passphrase)
        now = time.time()
        with self._db.write() as conn:
            self._ensure_addresses_free(conn, [primary, *alias_list])
            conn.execute(
                "INSERT INTO mailboxes(id, domain, name, description, status, quota, uidvalidity,"
                " created, passphrase_set_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    mailbox_id,
                    domain,
                    name or mailbox_id,
                    description,
                    status,
                    quota,
                    self._new_uidvalidity(),
                    now,
                    now,
                ),
            )
            conn.execute(
                "INSERT INTO addresses(address, mailbox_id, is_primary) VALUES (?,?,TRUE)",
                (primary, mailbox_id),
            )
            for alias in alias_list:
                conn.execute(
                    "INSERT INTO addresses(address, mailbox_id) VALUES (?,?)", (alias, mailbox_id)
                )
            insert_epoch(conn, first_epoch, "current")
        return self.get(mailbox_id), passphrase

    @staticmethod
    def _new_uidvalidity() -> int:
        return max(1, int(time.time()) & 0x7FFFFFFF)

    @staticmethod
    def _check_status(status: str) -> None:
        if status not in STATUSES:
            raise InvalidInput("status must be one of {choices}", choices=", ".join(STATUSES))

    def _validate_new_addresses(self, addresses: Iterable[str], actor: policy.Actor) -> list[str]:
        """Normalized, in the actor's scope, in accepted domains, each given once."""
        out: list[str] = []
        addresses = list(addresses)
        accepted = self._domains.names() if addresses else set()
        for address in addresses:
            normalized = normalize_address(address)
            policy.check_address(actor, normalized, accepted)
            if normalized in out:
                raise AlreadyExists("address {address} given twice", address=normalized)
            out.append(normalized)
        return out

    @staticmethod
    def _ensure_addresses_free(conn: sqlite3.Connection, addresses: list[str]) -> None:
        """Inside the write: each address is unused and its domain still accepted (a
        domain removed since the addresses were validated must not get one)."""
        for address in addresses:
            if conn.execute("SELECT 1 FROM addresses WHERE address=?", (address,)).fetchone():
                raise AlreadyExists("address {address} is already in use", address=address)
            domain = address.rpartition("@")[2]
            if not conn.execute("SELECT 1 FROM domains WHERE name=?", (domain,)).fetchone():
                raise InvalidInput(
                    "{address}: its domain is not an accepted domain", address=address
                )

    def _addresses(self, mailbox_id: str) -> list[str]:
        cur = self._db.conn().execute(
            "SELECT address FROM addresses WHERE mailbox_id=? ORDER BY is_primary DESC, address",
            (mailbox_id,),
        )
        return [r[0] for r in cur]

    def get(self, ref: str) -> Mailbox:
        """By id or by any of its addresses (case-insensitive)."""
        mailbox = self.find(ref)
        if mailbox is None:
            raise NotFound("no mailbox {ref}", ref=ref)
        return mailbox

    def find(self, ref: str) -> Mailbox | None:
        conn = self._db.conn()
        key = ref.strip().lower()
        if key.startswith("<") and key.endswith(">"):
            key = key[1:-1]
        row = conn.execute("SELECT * FROM mailboxes WHERE id=?", (key,)).fetchone()
        if row is None and "@" in key:
            try:
                key = normalize_address(key)
            except InvalidInput:
                return None
            hit = conn.execute(
                "SELECT mailbox_id FROM addresses WHERE address=?", (key,)
            ).fetchone()
            if hit:
                row = conn.execute("SELECT * FROM mailboxes WHERE id=?", (hit[0],)).fetchone()
        if row is None:
            return None
        return rows.mailbox(row, self._addresses(row["id"]))

    def list(self, domain: str | None = None) -> list[Mailbox]:
        conn = self._db.conn()
        if domain is not None:
            cur = conn.execute(
                "SELECT * FROM mailboxes WHERE domain=? ORDER BY name", (normalize_domain(domain),)
            )
        else:
            cur = conn.execute("SELECT * FROM mailboxes ORDER BY domain, name")
        return [rows.mailbox(r, self._addresses(r["id"])) for r in cur.fetchall()]

    def page(self, query: MailboxQuery) -> MailboxPage:
        return mailbox_page(self._db, query)

    def update(
        self,
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        status: str | None = None,
        quota: int | None = None,
        allowed_networks: Iterable[str] | None = None,
        protocols: Iterable[str] | None = None,
        settings: dict | None = None,
        settings_update: Mapping[str, object] | None = None,
    ) -> Mailbox:
        """Change the given fields in one transaction. `settings` replaces the settings
        document; `settings_update` changes only its keys (None removes a key), read and
        written in the same transaction so that concurrent changes of other keys survive."""
        mailbox = self.get(ref)
        fields: dict[str, object] = {}
        if name is not None:
            fields["name"] = name.strip() or mailbox.id
        if description is not None:
            fields["description"] = description
        if status is not None:
            self._check_status(status)
            fields["status"] = status
        if quota is not None:
            if quota < 0:
                raise InvalidInput("quota must be 0 (unlimited) or a positive number of bytes")
            fields["quota"] = quota
        if allowed_networks is not None:
            fields["allowed_networks"] = json.dumps(networks(allowed_networks))
        if protocols is not None:
            chosen = sorted(set(protocols))
            if any(p not in PROTOCOLS for p in chosen):
                raise InvalidInput(
                    "protocols must be among {choices}", choices=", ".join(PROTOCOLS)
                )
            fields["protocols"] = json.dumps(chosen)
        if settings is not None:
            fields["settings"] = json.dumps(settings)
        if fields or settings_update:
            with self._db.write() as conn:
                if settings_update:
                    fields["settings"] = self._merged_settings(conn, mailbox.id, settings_update)
                assignments = ", ".join(f"{column}=?" for column in fields)
                conn.execute(
                    f"UPDATE mailboxes SET {assignments} WHERE id=?",  # noqa: S608 (fixed names)
                    (*fields.values(), mailbox.id),
                )
        return self.get(mailbox.id)

    @staticmethod
    def _merged_settings(
        conn: sqlite3.Connection, mailbox_id: str, changes: Mapping[str, object]
    ) -> str:
        row = conn.execute("SELECT settings FROM mailboxes WHERE id=?", (mailbox_id,)).fetchone()
        if row is None:
            raise NotFound("no mailbox {ref}", ref=mailbox_id)
        merged = json.loads(row[0])
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return json.dumps(merged)

    def add_alias(self, ref: str, address: str, *, actor: policy.Actor) -> Mailbox:
        """Add an alias; `actor` must be allowed to use its domain (storage/policy.py)."""
        mailbox = self.get(ref)
        (alias,) = self._validate_new_addresses([address], actor)
        with self._db.write() as conn:
            self._ensure_addresses_free(conn, [alias])
            conn.execute(
                "INSERT INTO addresses(address, mailbox_id) VALUES (?,?)", (alias, mailbox.id)
            )
        return self.get(mailbox.id)

    def remove_alias(self, ref: str, address: str) -> Mailbox:
        mailbox = self.get(ref)
        alias = normalize_address(address)
        if alias not in mailbox.aliases:
            raise NotFound("{alias} is not an alias of {mailbox}", alias=alias, mailbox=mailbox.id)
        with self._db.write() as conn:
            conn.execute("DELETE FROM addresses WHERE address=? AND NOT is_primary", (alias,))
        return self.get(mailbox.id)

    def hand_over_addresses(self, source_ref: str, target_ref: str) -> builtins.list[str]:
        source, target = self.get(source_ref), self.get(target_ref)
        if source.id == target.id:
            raise InvalidInput("a mailbox cannot be handed over to itself")
        with self._db.write() as conn:
            conn.execute(
                "UPDATE addresses SET mailbox_id=?, is_primary=FALSE WHERE mailbox_id=?",
                (target.id, source.id),
            )
        return list(source.addresses)

    def delete(self, ref: str, force: bool = False) -> int:
        """Delete a mailbox, its keys and its messages; returns the number of messages destroyed."""
        mailbox = self.get(ref)
        if mailbox.messages and not force:
            raise NotEmpty(
                "mailbox {mailbox} holds {messages} messages",
                mailbox=mailbox.id,
                messages=mailbox.messages,
            )
        paths = [
            r[0]
            for r in self._db.conn().execute(
                "SELECT path FROM messages WHERE mailbox_id=?", (mailbox.id,)
            )
        ]
        with self._db.write() as conn:
            conn.execute("DELETE FROM messages WHERE mailbox_id=?", (mailbox.id,))
            conn.execute("DELETE FROM epochs WHERE mailbox_id=?", (mailbox.id,))
            conn.execute("DELETE FROM addresses WHERE mailbox_id=?", (mailbox.id,))
            forget_login_clients(conn, mailbox.id)
            conn.execute("DELETE FROM mailboxes WHERE id=?", (mailbox.id,))
        self._db.after_commit(lambda: self._forget_files(mailbox.id, paths))
        return len(paths)

    def _forget_files(self, mailbox_id: str, paths: builtins.list[str]) -> None:
        """Once the rows are gone for good: the files, then the sessions are told."""
        for path in paths:
            self._blobs.remove(path)
        self._events.publish(mailbox_id, "deleted")
