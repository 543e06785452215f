"""Bulk onboarding (`gateway mailbox import`): the checks made on every row before any
mailbox is created, and the import key that makes a re-run skip created rows.

The rows are created one by one through `create_mailbox` (one action, one transaction,
one `mailbox.create` entry each), which applies the same rules again; this pre-flight
only lets a whole file be refused before anything is created.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import policy
from ..errors import AlreadyExists, InvalidInput, NotFound
from ..sqlite.addresses import normalize_address, normalize_domain
from .base import Actor, require_role
from .mailboxes import IMPORT_KEY, CreateMailbox


def import_key(explicit: str, domain: str, name: str) -> str:
    """The row's stable key: the explicit `key` cell, else "domain/name" (lowercased,
    spaces collapsed); InvalidInput when the row has neither a key nor a name."""
    if explicit.strip():
        return " ".join(explicit.split())
    if not name.strip():
        raise InvalidInput("a row needs a name or a key (the import key a re-run skips by)")
    return f"{normalize_domain(domain)}/{' '.join(name.split()).lower()}"


def imported_keys(store: Any) -> set[str]:
    """The import keys of the mailboxes already in the store."""
    return {
        str(mailbox.settings[IMPORT_KEY])
        for mailbox in store.mailboxes.list()
        if mailbox.settings.get(IMPORT_KEY)
    }


class Preflight:
    """Checks each row of one file as `create_mailbox` would (role, domain scope,
    accepted domain, alias scope and acceptance, address in use, and an address asked
    for twice in the file), without the Argon2; the action checks again when it runs."""

    def __init__(self, store: Any, actor: Actor) -> None:
        require_role(actor, "domain-admin")
        self._store = store
        self._actor = actor
        self._accepted = {d.name for d in store.domains.list()}
        self._lines: dict[str, int] = {}

    def check(self, request: CreateMailbox, line: int) -> None:
        domain = normalize_domain(request.domain)
        policy.check_domain(self._actor.admin, domain)
        if domain not in self._accepted:
            raise NotFound("no domain {name}", name=domain)
        if request.quota < 0:
            raise InvalidInput("quota must be 0 (unlimited) or a positive number of bytes")
        aliases = [normalize_address(alias) for alias in request.aliases]
        for n, alias in enumerate(aliases):
            if alias in aliases[:n]:
                raise AlreadyExists("address {address} given twice", address=alias)
            policy.check_address(self._actor.admin, alias, self._accepted)
            if self._store.mailboxes.find(alias) is not None:
                raise AlreadyExists("address {address} is already in use", address=alias)
        self._claim(aliases, line)

    def _claim(self, addresses: Iterable[str], line: int) -> None:
        for address in addresses:
            first = self._lines.setdefault(address, line)
            if first != line:
                raise AlreadyExists(
                    "address {address} is also asked for on line {line}",
                    address=address,
                    line=first,
                )
