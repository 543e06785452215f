"""An unlocked mailbox: the age identities of the epochs its passphrase opened.

Lives only in memory: of one session (POP3/IMAP login, one CLI command), and of the
worker's unlock cache (gateway/unlock_cache.py), which hands the same object to the
repeat logins of that mailbox, so nothing may modify it after the unlock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .age.recipients import Identity


@dataclass
class MailboxKey:
    mailbox_id: str
    identities: dict[int, Identity] = field(repr=False)
    seeds: dict[int, bytes] = field(repr=False)
    kinds: dict[int, str] = field(repr=False)

    def can_read(self, epoch: int) -> bool:
        return epoch in self.identities

    def __repr__(self) -> str:  # never show key material
        return f"MailboxKey({self.mailbox_id}, epochs={sorted(self.identities)})"
