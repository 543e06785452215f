"""The areas whose SQL is the portable SQL of storage/sqlite/ unchanged.

Each runs there on this index's connections (storage/postgres/database.py translates
the parameter style); an area whose SQL or behaviour differs has its own module here
(messages, leases, sealing, maintenance).
"""

from __future__ import annotations

from ..sqlite.admins import SqliteAdmins
from ..sqlite.audit import SqliteAuditLog
from ..sqlite.certificates import SqliteCertificates
from ..sqlite.domains import SqliteDomains
from ..sqlite.keyring import SqliteKeyring
from ..sqlite.login_clients import SqliteLoginClients
from ..sqlite.mailboxes import SqliteMailboxes
from ..sqlite.relays import SqliteRelays
from ..sqlite.reservations import SqliteReservations
from ..sqlite.robots import SqliteRobots
from ..sqlite.sessions import SqliteApiTokens, SqliteSessions
from ..sqlite.sources import SqliteSources


class PostgresDomains(SqliteDomains):
    """Accepted domains (storage/contract/domains.py)."""


class PostgresMailboxes(SqliteMailboxes):
    """Mailboxes and addresses (storage/contract/mailboxes.py)."""


class PostgresKeyring(SqliteKeyring):
    """Key epochs and the passphrase lifecycle (storage/contract/keys.py)."""


class PostgresAdmins(SqliteAdmins):
    """Console accounts (storage/contract/admins.py)."""


class PostgresSessions(SqliteSessions):
    """Console sessions (storage/contract/sessions.py) and the console's signing keys
    (web_secrets): shared by every node, so a CSRF token made on one node is good on
    every other."""


class PostgresApiTokens(SqliteApiTokens):
    """API tokens (storage/contract/sessions.py)."""


class PostgresAuditLog(SqliteAuditLog):
    """The audit log (storage/contract/audit.py)."""


class PostgresLoginClients(SqliteLoginClients):
    """Known-good login clients (storage/contract/login_clients.py)."""


class PostgresRelays(SqliteRelays):
    """Relay targets and the relayed-copy memory (storage/contract/relays.py): a sender's
    retry reaching another node skips the targets already relayed to."""


class PostgresSources(SqliteSources):
    """Fetch sources (storage/contract/sources.py); a fetched copy is indexed by
    PostgresMessages (row-locked, exact quota) in the same transaction as its tracking."""


class PostgresReservations(SqliteReservations):
    """Delivery reservations timed by the database server's clock, the one clock every
    node shares (as the leases are): a reservation expires at the same moment for all."""

    NOW = "extract(epoch FROM clock_timestamp())"


class PostgresRobots(SqliteRobots):
    """Mail robots and their reply memory (storage/contract/robots.py): a sender is
    answered once per interval whichever node the mail reaches."""


class PostgresCertificates(SqliteCertificates):
    """Built-in ACME state (account, live certificate, status, challenges) shared
    by every node on this index."""
