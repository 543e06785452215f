"""Mailbox key epochs: a random 32-byte age identity seed sealed under the passphrase.

KEK = Argon2id(normalized passphrase, 16-byte salt, stored parameters); the seed is
sealed with ChaCha20-Poly1305 and associated data binding it to the mailbox id, epoch
number and recipient. A successful unseal is the passphrase check: no verifier is kept.
Epochs sealed together share one salt so that unlocking costs one Argon2id run.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .age import HybridIdentity, X25519Identity

RECIPIENT_TYPES = ("mlkem768x25519", "x25519")
SEED_SIZE = 32


@dataclass(frozen=True)
class KdfParams:
    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    def derive(self, secret: bytes, salt: bytes) -> bytes:
        return hash_secret_raw(
            secret,
            salt,
            time_cost=self.iterations,
            memory_cost=self.memory_kib,
            parallelism=self.lanes,
            hash_len=32,
            type=Type.ID,
        )


@dataclass(frozen=True)
class SealedSeed:
    """One epoch's seed as stored: everything needed to unseal, nothing secret."""

    mailbox_id: str
    epoch: int
    kind: str  # "mlkem768x25519" or "x25519"
    recipient: str  # age1… / age1pq1…
    salt: bytes
    nonce: bytes
    ciphertext: bytes
    kdf: KdfParams

    def aad(self) -> bytes:
        return f"jgw-epoch\x00{self.mailbox_id}\x00{self.epoch}\x00{self.recipient}".encode()


def identity_for(kind: str, seed: bytes) -> X25519Identity | HybridIdentity:
    if kind == "x25519":
        return X25519Identity(seed)
    if kind == "mlkem768x25519":
        return HybridIdentity(seed)
    raise ValueError(f"unknown recipient type {kind!r}")


def new_seed(kind: str) -> tuple[bytes, str]:
    """A fresh seed and its encoded age recipient."""
    seed = os.urandom(SEED_SIZE)
    return seed, identity_for(kind, seed).recipient().encode()


def seal(
    mailbox_id: str,
    epoch: int,
    kind: str,
    recipient: str,
    seed: bytes,
    kek: bytes,
    salt: bytes,
    kdf: KdfParams,
) -> SealedSeed:
    nonce = os.urandom(12)
    shell = SealedSeed(mailbox_id, epoch, kind, recipient, salt, nonce, b"", kdf)
    ciphertext = ChaCha20Poly1305(kek).encrypt(nonce, seed, shell.aad())
    return SealedSeed(mailbox_id, epoch, kind, recipient, salt, nonce, ciphertext, kdf)


def unseal(sealed: SealedSeed, kek: bytes) -> bytes | None:
    """Return the seed, or None when the KEK (the passphrase) is wrong."""
    try:
        seed = ChaCha20Poly1305(kek).decrypt(sealed.nonce, sealed.ciphertext, sealed.aad())
    except InvalidTag:
        return None
    derived = identity_for(sealed.kind, seed).recipient().encode()
    if not hmac.compare_digest(derived.encode(), sealed.recipient.encode()):
        return None
    return seed


def new_salt() -> bytes:
    return os.urandom(16)
