"""Mailboxes and their addresses: a primary address <id>@<domain> and any aliases."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Protocol

from .. import policy
from ..listing import MailboxPage, MailboxQuery
from ..models import Mailbox


class Mailboxes(Protocol):
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
        """Create a mailbox with its first key epoch; returns it and its passphrase, which
        exists nowhere else (the store keeps only the seed sealed under it).

        `actor` must be allowed the domain and every alias (storage/policy.py: OutOfScope).
        InvalidInput for a bad status, quota, address or a domain not accepted;
        AlreadyExists for an address in use or given twice. All or nothing: on any error
        no mailbox, address or epoch is left behind.
        """
        ...

    def get(self, ref: str) -> Mailbox:
        """By id or by any of its addresses (case-insensitive, <> allowed); NotFound."""
        ...

    def find(self, ref: str) -> Mailbox | None:
        """Like get, but None instead of NotFound (also for a malformed address)."""
        ...

    def list(self, domain: str | None = None) -> builtins.list[Mailbox]:
        """Every mailbox (of `domain`), ordered by domain and name."""
        ...

    def page(self, query: MailboxQuery) -> MailboxPage:
        """One page of the list (storage/listing.py): only the query's domains, filtered by
        status and search, sorted (ties broken by id), with each row's messages received
        since `query.now` - 24 h and its sealed messages, and the total matching.

        Paging by cursor or by offset covers every matching row exactly once while nothing
        changes; a cursor stays valid across inserts and deletes (a row added before it is
        not shown, none is shown twice). A bounded number of statements whatever the
        page size. InvalidInput for a bad sort, status, limit, offset or cursor.
        """
        ...

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
        """Change the given fields in one transaction and return the mailbox as stored.

        `settings` replaces the settings document; `settings_update` changes only its
        keys (None removes one), read and written in the same transaction, so concurrent
        changes of other keys survive. InvalidInput (nothing changed) for a bad status,
        quota, network or protocol; NotFound.
        """
        ...

    def add_alias(self, ref: str, address: str, *, actor: policy.Actor) -> Mailbox:
        """Add an alias; the actor must be allowed its domain (OutOfScope), which must be
        accepted (InvalidInput); AlreadyExists when any mailbox has that address."""
        ...

    def remove_alias(self, ref: str, address: str) -> Mailbox:
        """Remove an alias; NotFound unless it is one of this mailbox's aliases. Never
        removes the primary address."""
        ...

    def hand_over_addresses(self, source_ref: str, target_ref: str) -> builtins.list[str]:
        """Move every address of `source_ref` (primary and aliases) to `target_ref`, where
        each becomes an alias; returns them. Called by the delete action, in its
        transaction, just before the source is deleted (storage/policy.py decides who may
        hand what to whom; this only moves rows). NotFound for either mailbox."""
        ...

    def delete(self, ref: str, force: bool = False) -> int:
        """Delete the mailbox, its key epochs, addresses, known login clients and messages;
        returns how many messages were destroyed. Its addresses are free again at once.

        NotEmpty (nothing deleted) while it holds messages, unless `force`. The index
        rows go in one transaction before any file is removed.
        """
        ...
