"""Leases: named locks with an owner and a time to live, shared by every process (and,
on a shared index, every node) that opens the store.

A holder keeps its lease by renewing it before the ttl runs out; a holder that dies
stops renewing and its lease expires, so the name is free again within one ttl. POP3
holds `pop3:<mailbox id>` for a session's life (RFC 1939's exclusive maildrop).
"""

from __future__ import annotations

from typing import Protocol


class Leases(Protocol):
    def acquire(self, name: str, owner: str, ttl: float) -> bool:
        """Take `name` for `owner` for `ttl` seconds. True when it is free, expired, or
        already `owner`'s (then its ttl is renewed); False while another owner holds it."""
        ...

    def renew(self, name: str, owner: str, ttl: float) -> bool:
        """Extend `owner`'s hold by `ttl` seconds from now. False when `owner` no longer
        holds it (released, or expired and taken by someone else): the holder lost it."""
        ...

    def release(self, name: str, owner: str) -> None:
        """Give `name` up at once; nothing happens unless `owner` holds it."""
        ...

    def holder(self, name: str) -> str | None:
        """The owner holding `name` now, or None when it is free or expired."""
        ...
