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

    def sent(self, tags: Iterable[bytes], now: float) -> set[bytes]:
        """Which of `tags` were remembered and have not expired by `now`."""
        ...

    def remember(self, tags: Iterable[bytes], expires: float) -> None:
        """Remember `tags` (keyed digests, never addresses or content) until `expires`;
        expired tags are dropped on the way."""
        ...
