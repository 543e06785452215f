"""Store: one data directory's worth of everything at rest, as areas.

Read this package to know what any implementation (storage/sqlite/ today) promises;
tests/storage/conformance/ checks each promise against every implementation.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from ..events import MailboxEvents
from .admins import Admins
from .audit import AuditLog
from .certificates import Certificates
from .domains import Domains
from .keys import Keyring
from .leases import Leases
from .login_clients import LoginClients
from .mailboxes import Mailboxes
from .maintenance import Maintenance
from .messages import Messages
from .relays import Relays
from .robots import Robots
from .sealing import Sealing
from .sessions import ApiTokens, Sessions
from .sources import Sources


class Store(Protocol):
    """The areas are read-only attributes; each is its own protocol (this package)."""

    @property
    def domains(self) -> Domains:
        """Accepted domains."""
        ...

    @property
    def mailboxes(self) -> Mailboxes:
        """Mailboxes and their addresses."""
        ...

    @property
    def keys(self) -> Keyring:
        """Key epochs and passphrases."""
        ...

    @property
    def messages(self) -> Messages:
        """Delivery, listing, reading, flags, deletion."""
        ...

    @property
    def admins(self) -> Admins:
        """Console accounts."""
        ...

    @property
    def sessions(self) -> Sessions:
        """Console sessions."""
        ...

    @property
    def tokens(self) -> ApiTokens:
        """API tokens."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit log."""
        ...

    @property
    def login_clients(self) -> LoginClients:
        """Known login clients."""
        ...

    @property
    def leases(self) -> Leases:
        """Named locks with a time to live, shared by every process on the store."""
        ...

    @property
    def relays(self) -> Relays:
        """Relay targets per mailbox, and the memory of copies relayed."""
        ...

    @property
    def sources(self) -> Sources:
        """Fetch sources: external POP3/IMAP mailboxes a mailbox pulls mail from."""
        ...

    @property
    def robots(self) -> Robots:
        """Mail robots (auto-replies) and whom they answered (keyed digests only)."""
        ...

    @property
    def certificates(self) -> Certificates:
        """Built-in ACME: account key, live certificate, status, pending challenges."""
        ...

    @property
    def sealing(self) -> Sealing:
        """Secrets sealed under the gateway key."""
        ...

    @property
    def maintenance(self) -> Maintenance:
        """Reconciliation and the hooks of backup, fsck, retention."""
        ...

    @property
    def events(self) -> MailboxEvents:
        """Change notifications per mailbox, published after each commit on the
        committing thread (storage/events.py)."""
        ...

    def atomic(self) -> AbstractContextManager[None]:
        """Every write made on the calling thread inside the block is one transaction:
        the outermost exit commits, an exception rolls every one of them back. Nested
        atomic() blocks join the outer one. Do not deliver inside (commit_deliveries
        runs its own group commit), and expect a deletion's files to be removed even
        when the block later rolls back (files go after their rows, never before)."""
        ...

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
        ...
