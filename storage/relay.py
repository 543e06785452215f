"""Relay-copy rules kept once for the console, the API, the CLI and the SMTP server.

- A mailbox relays to at most MAX_TARGETS addresses, each with a policy: `required`
  (a target's temporary failure answers 4xx to the sender, so the message is retried
  and nothing is kept locally until every required target took it) or `best-effort`
  (the local copy is acknowledged; a miss is counted, logged and audited).
- A target is never one of our own addresses: no address in any accepted domain (mail
  to it would come straight back, a loop the gateway could not see).
- A sender's retry must not reach a target twice: which targets took a message (its
  Message-ID and size) is remembered for SENT_MEMORY_SECONDS as keyed digests under the
  gateway seal key, never as plaintext hashes (storage/sqlite/relays.py).
"""

from __future__ import annotations

from collections.abc import Collection

from .errors import InvalidInput

MAX_TARGETS = 20
POLICIES = ("required", "best-effort")
REQUIRED, BEST_EFFORT = POLICIES
# A retried message is recognised for this long (senders retry for a day or two).
SENT_MEMORY_SECONDS = 7 * 86400.0


def check_policy(policy: str) -> str:
    """The policy, lowercased; InvalidInput unless it is required or best-effort."""
    value = policy.strip().lower()
    if value not in POLICIES:
        raise InvalidInput(
            "relay policy must be required or best-effort, not {policy!r}", policy=policy
        )
    return value


def is_own(address: str, accepted_domains: Collection[str]) -> bool:
    """Whether the (normalized) address is in one of our accepted domains."""
    return address.rpartition("@")[2] in accepted_domains


def check_not_own(address: str, accepted_domains: Collection[str]) -> None:
    """InvalidInput when the (normalized) address is in one of our accepted domains."""
    domain = address.rpartition("@")[2]
    if is_own(address, accepted_domains):
        raise InvalidInput(
            "{address} is in {domain}, a domain this gateway accepts: relaying there would loop",
            address=address,
            domain=domain,
        )
