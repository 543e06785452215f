"""The unlock cache: a repeat login with the same passphrase skips Argon2id.

An archiver polls every few minutes with the same passphrase, and each poll would cost
one Argon2id run (64 MiB, 100-200 ms of a core). This cache keeps, per mailbox and only
in this process's memory, the MailboxKey a successful unlock produced, together with an
HMAC-SHA256 of the normalized passphrase under a random key made at process start (so
no passphrase, nor anything an offline guess could be checked against outside this
process, is kept) and the mailbox's key state (a fingerprint of its epoch rows and its
login-relevant fields, storage Keyring.key_state).

A hit needs the same mailbox, an equal HMAC (compared in constant time), an unexpired
entry and an unchanged key state; it renews the entry's TTL, which therefore counts from
the mailbox's last successful login. A passphrase change, reset, recover or purge, or a
status, protocol or network change, made by any process or node, changes the key state
in the shared index, so the next login here misses and runs a real unlock. Nothing of
it is ever written to disk; an entry that expires, loses the LRU bound or stops
matching is dropped with its MailboxKey.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from storage import MailboxKey
from storage import passphrase as passphrases


@dataclass(frozen=True)
class _Entry:
    proof: bytes  # HMAC-SHA256(process key, normalized passphrase)
    key: MailboxKey
    key_state: str
    expires: float


class UnlockCache:
    """Bounded LRU of unlocked mailbox keys; `ttl` 0 or `size` 0 disables it."""

    def __init__(self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._process_key = secrets.token_bytes(32)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0 and self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def _proof(self, passphrase: str) -> bytes | None:
        """The keyed hash of the normalized passphrase; None for text that cannot be one."""
        try:
            secret = passphrases.normalize(passphrase)
        except passphrases.InvalidPassphrase:
            return None
        return hmac.new(self._process_key, secret, hashlib.sha256).digest()

    def get(self, mailbox_id: str, passphrase: str, key_state: str) -> MailboxKey | None:
        """The cached key if this passphrase unlocked this key state lately, else None."""
        entry = self._entries.get(mailbox_id) if self.enabled else None
        proof = self._proof(passphrase) if entry else None
        if entry is None or proof is None:
            self.misses += 1
            return None
        if entry.expires <= self._clock() or not hmac.compare_digest(entry.key_state, key_state):
            del self._entries[mailbox_id]  # stale for every passphrase
            self.misses += 1
            return None
        if not hmac.compare_digest(entry.proof, proof):
            self.misses += 1  # a wrong passphrase: the entry stays for the right one
            return None
        # the TTL counts from the last successful login, so the LRU order is expiry order
        self._entries[mailbox_id] = dataclasses.replace(entry, expires=self._clock() + self.ttl)
        self._entries.move_to_end(mailbox_id)
        self.hits += 1
        return entry.key

    def put(self, key: MailboxKey, passphrase: str, key_state: str) -> None:
        """Remember a successful unlock of `key_state` (read before the unlock began)."""
        proof = self._proof(passphrase)
        if not self.enabled or proof is None:
            return
        expires = self._clock() + self.ttl
        self._entries[key.mailbox_id] = _Entry(proof, key, key_state, expires)
        self._entries.move_to_end(key.mailbox_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        self._drop_expired()

    def drop(self, mailbox_id: str) -> None:
        self._entries.pop(mailbox_id, None)

    def _drop_expired(self) -> None:
        """Drop expired entries; the least recently used expires first."""
        now = self._clock()
        while self._entries:
            mailbox_id, entry = next(iter(self._entries.items()))
            if entry.expires > now:
                return
            del self._entries[mailbox_id]
