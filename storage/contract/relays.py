"""Relays: each mailbox's relay targets (copies of incoming mail sent onward through the
smarthost), and the keyed memory of copies already relayed, so a sender's retry does not
send a target the same message twice (README: Relay copies and robots).

Rules (how many, which addresses, the passphrase) are the action's (storage/relay.py,
storage/actions/relays.py); this area stores what the action decided.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Protocol

from ..models import RelayTarget


class Relays(Protocol):
    def list(self, mailbox_id: str) -> builtins.list[RelayTarget]:
        """The mailbox's targets, oldest first; [] for none (or an unknown mailbox)."""
        ...

    def put(self, mailbox_id: str, address: str, policy: str, actor: str) -> RelayTarget:
        """Add the (normalized) `address` as a target, or change its policy: one row per
        address and mailbox. NotFound for an unknown mailbox; InvalidInput for an address
        that is not one, a policy other than required/best-effort, or a 21st target.
        Forgotten with the mailbox."""
        ...

    def remove(self, mailbox_id: str, address: str) -> RelayTarget:
        """Remove one target and return it; NotFound when it is not one of the mailbox's."""
        ...

    def chain_mark(self, mailbox_id: str) -> str:
        """A stable keyed mark of the mailbox (under the gateway seal key) for the
        header relayed copies carry, so the mailbox recognises its own copies coming
        back without telling the target its id. SealError without a seal key."""
        ...

    def already_relayed(
        self, mailbox_id: str, message_key: str, targets: Iterable[str]
    ) -> set[str]:
        """Which of `targets` took the message `message_key` (its Message-ID and size)
        from this mailbox within the memory's time (remember_relayed)."""
        ...

    def remember_relayed(
        self, mailbox_id: str, message_key: str, targets: Iterable[str], expires: float
    ) -> None:
        """Remember until `expires` (Unix time) that `targets` took the message. Only
        keyed digests (under the gateway seal key) are kept: no address, no Message-ID.
        Expired entries are dropped on the way. SealError without a seal key."""
        ...
