"""Plain records the store hands out. They hold no message content and no passphrase,
password or token (sessions and tokens are stored as hashes of their secrets); only
AdminSession.data, the console's own per-session state, may hold what the console put
there (e.g. a TOTP secret during enrolment)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

STATUSES = ("active", "hold", "receive-only", "disabled")
PROTOCOLS = ("pop3", "imap")
ROLES = ("superadmin", "domain-admin", "viewer")
FLAGS = ("\\Seen", "\\Deleted", "\\Flagged", "\\Answered", "\\Draft")


@dataclass(frozen=True)
class Domain:
    name: str
    created: float
    mailboxes: int = 0


@dataclass(frozen=True)
class Mailbox:
    id: str
    domain: str
    name: str
    description: str
    status: str
    quota: int  # bytes, 0 = unlimited
    addresses: tuple[str, ...]  # primary first
    allowed_networks: tuple[str, ...]
    protocols: tuple[str, ...]
    uidvalidity: int
    created: float
    last_login: float | None
    messages: int
    bytes: int  # stored (encrypted) bytes, what the quota counts
    settings: dict = field(default_factory=dict, compare=False, hash=False)
    # When the current passphrase was set: the last create, change, reset or recover.
    passphrase_set_at: float | None = None

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.addresses[1:]

    def accepts_mail(self) -> bool:
        return self.status in ("active", "receive-only")

    def allows_login(self) -> bool:
        return self.status in ("active", "hold")


@dataclass(frozen=True)
class EpochInfo:
    number: int
    kind: str
    recipient: str
    state: str  # "current" (sealed under the current passphrase) or "sealed"
    created: float
    messages: int


@dataclass(frozen=True)
class MessageInfo:
    id: str
    mailbox_id: str
    uid: int
    epoch: int
    size: int  # plaintext octets as retrieved; -1 while unknown (adopted orphan)
    stored_size: int
    received: float
    flags: frozenset[str]
    encoding: str
    path: str
    sha256: str


class ListedMessage(NamedTuple):
    """What a POP3 maildrop needs of a message: the light listing of every login.

    A mailbox of thousands of messages is listed on every POP3 login; five columns as
    a tuple cost a third of a full MessageInfo each. RETR and TOP fetch the full row
    (Messages.get) of the one message they send.
    """

    id: str
    uid: int
    epoch: int
    size: int  # -1 while unknown (adopted orphan)
    flags: frozenset[str]


@dataclass(frozen=True)
class Admin:
    name: str
    role: str
    domains: tuple[str, ...]
    disabled: bool
    totp_enabled: bool
    created: float
    language: str = "en"


@dataclass(frozen=True)
class AdminSession:
    """A console sign-in; the store keeps only a hash of the cookie's secret."""

    id: str  # public id (a short random label), never the cookie value
    admin: str
    created: float
    last_seen: float
    source: str
    user_agent: str
    data: dict


@dataclass(frozen=True)
class ApiToken:
    """A named API token; the secret is shown once and only its hash is stored."""

    id: str  # public id, e.g. "tok-3k9..."; the secret is never stored
    admin: str
    name: str
    created: float
    last_used: float | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    time: float
    actor: str
    action: str
    target: str
    detail: str
    source: str


@dataclass(frozen=True)
class RelayTarget:
    """One address a mailbox relays a copy of each incoming message to (storage/relay.py)."""

    mailbox_id: str
    address: str  # normalized
    policy: str  # "required" or "best-effort"
    created_by: str  # the admin (or "cli") who added or last changed it
    created: float  # when it was added or last changed
