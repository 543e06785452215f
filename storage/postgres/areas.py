"""The areas whose SQL is the portable SQL of storage/sqlite/ unchanged.

Each runs there on this index's connections (storage/postgres/database.py translates
the parameter style); an area whose SQL or behaviour differs has its own module here
(messages, leases, sealing, maintenance).
"""

from __future__ import annotations

from ..sqlite.admins import SqliteAdmins
from ..sqlite.audit import SqliteAuditLog
from ..sqlite.domains import SqliteDomains
from ..sqlite.keyring import SqliteKeyring
from ..sqlite.login_clients import SqliteLoginClients
from ..sqlite.mailboxes import SqliteMailboxes
from ..sqlite.sessions import SqliteApiTokens, SqliteSessions


class PostgresDomains(SqliteDomains):
    """Accepted domains (storage/contract/domains.py)."""


class PostgresMailboxes(SqliteMailboxes):
    """Mailboxes and addresses (storage/contract/mailboxes.py)."""


class PostgresKeyring(SqliteKeyring):
    """Key epochs and the passphrase lifecycle (storage/contract/keys.py)."""


class PostgresAdmins(SqliteAdmins):
    """Console accounts (storage/contract/admins.py)."""


class PostgresSessions(SqliteSessions):
    """Console sessions (storage/contract/sessions.py): shared by every node."""


class PostgresApiTokens(SqliteApiTokens):
    """API tokens (storage/contract/sessions.py)."""


class PostgresAuditLog(SqliteAuditLog):
    """The audit log (storage/contract/audit.py)."""


class PostgresLoginClients(SqliteLoginClients):
    """Known-good login clients (storage/contract/login_clients.py)."""
