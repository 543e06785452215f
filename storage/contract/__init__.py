"""The store contract: one typed Protocol per area, each method's docstring its promise.

    store.domains        Domains        contract/domains.py
    store.mailboxes      Mailboxes      contract/mailboxes.py (incl. addresses, aliases)
    store.keys           Keyring        contract/keys.py
    store.messages       Messages       contract/messages.py
    store.admins         Admins         contract/admins.py
    store.sessions       Sessions       contract/sessions.py
    store.tokens         ApiTokens      contract/sessions.py
    store.audit          AuditLog       contract/audit.py
    store.login_clients  LoginClients   contract/login_clients.py
    store.leases         Leases         contract/leases.py
    store.relays         Relays         contract/relays.py
    store.sources        Sources        contract/sources.py
    store.robots         Robots         contract/robots.py
    store.certificates   Certificates   contract/certificates.py (built-in ACME)
    store.sealing        Sealing        contract/sealing.py
    store.maintenance    Maintenance    contract/maintenance.py
    Store (the areas, atomic(), close())  contract/store.py

Errors are the classes of storage/errors.py; values are storage/models.py's.
"""

from .admins import Admins
from .audit import AuditLog
from .certificates import Certificates, LiveCertificate
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
from .store import Store

__all__ = [
    "Admins",
    "ApiTokens",
    "AuditLog",
    "Certificates",
    "Domains",
    "Keyring",
    "Leases",
    "LiveCertificate",
    "LoginClients",
    "Mailboxes",
    "Maintenance",
    "Messages",
    "Relays",
    "Robots",
    "Sealing",
    "Sessions",
    "Sources",
    "Store",
]
