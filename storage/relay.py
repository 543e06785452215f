"""Relay-copy rules kept once for the console, the API, the CLI and the SMTP server.

- A mailbox relays to at most MAX_TARGETS addresses, each with a policy: `required`
  (a target's temporary failure answers 4xx to the sender, so the message is retried
  and nothing is kept locally until every required target took it) or `best-effort`
  (the local copy is acknowledged; a miss is counted, logged and audited).
- A target is never one of our own addresses: no address in any accepted domain (mail
  to it would come straight back, a loop the gateway could not see).
- The idempotence tag of one copy: HMAC-SHA256 under a gateway key of the target, the
  Message-ID and the size, so the index holds no plaintext digest of anything a
  sender wrote (README: Relay copies and robots).
"""

from __future__ import annotations

import hashlib
import hmac
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


def check_not_own(address: str, accepted_domains: Collection[str]) -> None:
    """InvalidInput when the (normalized) address is in one of our accepted domains."""
    domain = address.rpartition("@")[2]
    if domain in accepted_domains:
        raise InvalidInput(
            "{address} is in {domain}, a domain this gateway accepts: relaying there would loop",
            address=address,
            domain=domain,
        )


def sent_tag(key: bytes, mailbox_id: str, target: str, message_id: str, size: int) -> bytes:
    """The keyed tag recording that this message went to this target of this mailbox."""
    text = "\0".join((mailbox_id, target, message_id.strip(), str(size)))
    return hmac.new(key, text.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
