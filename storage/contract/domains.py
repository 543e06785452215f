"""Domains: the accepted domains, the only ones a mailbox or alias may have an address in."""

from __future__ import annotations

import builtins
from typing import Protocol

from ..listing import DomainOverview
from ..models import Domain


class Domains(Protocol):
    def add(self, name: str) -> Domain:
        """Accept a domain (normalized: IDNA, lowercase, no trailing dot); durable on return.

        Raises InvalidInput for a name that is not a domain, AlreadyExists when accepted.
        """
        ...

    def list(self) -> builtins.list[Domain]:
        """Every accepted domain by name, each with its number of mailboxes."""
        ...

    def overview(
        self, domains: tuple[str, ...] | None = None, now: float | None = None
    ) -> builtins.list[DomainOverview]:
        """Per accepted domain (of `domains`; None for all) by name: its mailboxes, their
        count per status, messages, stored bytes, newest last login, and messages received
        since `now` (default: the clock) - 24 h. Aggregated in the store, not per mailbox."""
        ...

    def get(self, name: str) -> Domain:
        """The accepted domain `name` (any case); NotFound otherwise."""
        ...

    def remove(self, name: str) -> None:
        """Stop accepting a domain. Never while any mailbox or alias has an address in it:
        DomainInUse names them and nothing changes. NotFound when not accepted."""
        ...
