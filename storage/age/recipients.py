"""age native recipient types: X25519, mlkem768x25519 (X-Wing hybrid), scrypt (read only).

Each identity derives from a 32-byte seed as the age spec says. The hybrid type uses
pyca's HPKE with the MLKEM768-X25519 KEM; its key pair is expanded from the seed with
SHAKE256 as in draft-ietf-hpke-pq (first 64 bytes: ML-KEM seed d||z, last 32: X25519).
"""

from __future__ import annotations

import hashlib
import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from . import bech32
from .errors import HeaderError
from .header import Stanza, b64decode, b64encode, hkdf_sha256

FILE_KEY_SIZE = 16
_ZERO_NONCE = b"\x00" * 12
X25519_INFO = b"age-encryption.org/v1/X25519"
HYBRID_INFO = b"age-encryption.org/mlkem768x25519"
HYBRID_ENC_SIZE = 1120
_HPKE_SUITE = hpke.Suite(
    hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305
)
SCRYPT_SALT_LABEL = b"age-encryption.org/v1/scrypt"
SCRYPT_MAX_LOG_N = 22


class Identity(Protocol):
    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        """Return the file key if a stanza is addressed to this identity, else None."""


class Recipient(Protocol):
    type_name: str

    def wrap(self, file_key: bytes) -> Stanza: ...

    def encode(self) -> str: ...


def _raw_public(key: x25519.X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _open_file_key(key: bytes, body: bytes) -> bytes | None:
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, body, None)
    except InvalidTag:
        return None


class X25519Recipient:
    type_name = "x25519"

    def __init__(self, public: bytes) -> None:
        self.public = public

    def wrap(self, file_key: bytes) -> Stanza:
        ephemeral = x25519.X25519PrivateKey.generate()
        share = _raw_public(ephemeral.public_key())
        secret = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(self.public))
        key = hkdf_sha256(secret, share + self.public, X25519_INFO)
        body = ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)
        return Stanza(("X25519", b64encode(share).decode()), body)

    def encode(self) -> str:
        return bech32.encode("age", self.public)


class X25519Identity:
    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self._key = x25519.X25519PrivateKey.from_private_bytes(seed)

    def recipient(self) -> X25519Recipient:
        return X25519Recipient(_raw_public(self._key.public_key()))

    def encode(self) -> str:
        return bech32.encode("age-secret-key-", self.seed).upper()

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        own = _raw_public(self._key.public_key())
        for stanza in stanzas:
            if stanza.args[0] != "X25519":
                continue
            if len(stanza.args) != 2:
                raise HeaderError("X25519 stanza needs two arguments")
            share = b64decode(stanza.args[1].encode())
            if len(share) != 32 or len(stanza.body) != 32:
                raise HeaderError("X25519 stanza has a wrong length")
            try:
                secret = self._key.exchange(x25519.X25519PublicKey.from_public_bytes(share))
            except ValueError:  # all-zero shared secret (low-order point)
                raise HeaderError("X25519 low-order share") from None
            file_key = _open_file_key(hkdf_sha256(secret, share + own, X25519_INFO), stanza.body)
            if file_key is not None:
                return file_key
        return None


def _hybrid_private_key(seed: bytes) -> hpke.MLKEM768X25519PrivateKey:
    expanded = hashlib.shake_256(seed).digest(96)
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    x_key = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    return hpke.MLKEM768X25519PrivateKey(mlkem_key, x_key)


def _hybrid_public_bytes(seed: bytes) -> bytes:
    expanded = hashlib.shake_256(seed).digest(96)
    mlkem_pub = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]).public_key()
    x_pub = x25519.X25519PrivateKey.from_private_bytes(expanded[64:]).public_key()
    return mlkem_pub.public_bytes_raw() + _raw_public(x_pub)


class HybridRecipient:
    """mlkem768x25519: age's post-quantum hybrid recipient (age1pq1…)."""

    type_name = "mlkem768x25519"

    def __init__(self, public: bytes) -> None:
        if len(public) != 1216:
            raise ValueError("mlkem768x25519 recipient must be 1216 bytes")
        self.public = public
        self._key = hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(public[:1184]),
            x25519.X25519PublicKey.from_public_bytes(public[1184:]),
        )

    def wrap(self, file_key: bytes) -> Stanza:
        sealed = _HPKE_SUITE.encrypt(file_key, self._key, info=HYBRID_INFO)
        enc, body = sealed[:HYBRID_ENC_SIZE], sealed[HYBRID_ENC_SIZE:]
        return Stanza(("mlkem768x25519", b64encode(enc).decode()), body)

    def encode(self) -> str:
        return bech32.encode("age1pq", self.public)


class HybridIdentity:
    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self._key = _hybrid_private_key(seed)
        self._x25519 = x25519.X25519PrivateKey.from_private_bytes(
            hashlib.shake_256(seed).digest(96)[64:]
        )

    def recipient(self) -> HybridRecipient:
        return HybridRecipient(_hybrid_public_bytes(self.seed))

    def encode(self) -> str:
        return bech32.encode("age-secret-key-pq-", self.seed).upper()

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        for stanza in stanzas:
            if stanza.args[0] != "mlkem768x25519":
                continue
            if len(stanza.args) != 2:
                raise HeaderError("mlkem768x25519 stanza needs two arguments")
            enc = b64decode(stanza.args[1].encode())
            if len(enc) != HYBRID_ENC_SIZE or len(stanza.body) != 32:
                raise HeaderError("mlkem768x25519 stanza has a wrong length")
            try:  # the X25519 half must not be a low-order point (all-zero secret)
                self._x25519.exchange(x25519.X25519PublicKey.from_public_bytes(enc[1088:]))
            except ValueError:
                raise HeaderError("mlkem768x25519 low-order X25519 share") from None
            try:
                return _HPKE_SUITE.decrypt(enc + stanza.body, self._key, info=HYBRID_INFO)
            except (InvalidTag, ValueError):
                continue
        return None


class ScryptIdentity:
    """Passphrase identity, decrypt only: present so every age vector can be run."""

    def __init__(self, passphrase: bytes) -> None:
        self.passphrase = passphrase

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        scrypt = [s for s in stanzas if s.args[0] == "scrypt"]
        if not scrypt:
            return None
        if len(stanzas) != 1:
            raise HeaderError("scrypt stanza must be alone")
        stanza = scrypt[0]
        if len(stanza.args) != 3:
            raise HeaderError("scrypt stanza needs three arguments")
        salt = b64decode(stanza.args[1].encode())
        log_n = stanza.args[2]
        if len(salt) != 16 or not log_n.isdigit() or not log_n.isascii():
            raise HeaderError("malformed scrypt stanza")
        if log_n.startswith("0") or not 0 < int(log_n) <= SCRYPT_MAX_LOG_N:
            raise HeaderError("scrypt work factor out of range")
        if len(stanza.body) != 32:
            raise HeaderError("scrypt stanza body has a wrong length")
        kdf = Scrypt(salt=SCRYPT_SALT_LABEL + salt, length=32, n=1 << int(log_n), r=8, p=1)
        return _open_file_key(kdf.derive(self.passphrase), stanza.body)


def parse_identity(text: str) -> X25519Identity | HybridIdentity:
    """Parse an AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1… string."""
    hrp, data = bech32.decode(text.strip())
    if hrp == "age-secret-key-" and len(data) == 32:
        return X25519Identity(data)
    if hrp == "age-secret-key-pq-" and len(data) == 32:
        return HybridIdentity(data)
    raise ValueError("not an age identity")


def parse_recipient(text: str) -> X25519Recipient | HybridRecipient:
    hrp, data = bech32.decode(text.strip())
    if hrp == "age":
        return X25519Recipient(data)
    if hrp == "age1pq":
        return HybridRecipient(data)
    raise ValueError("not an age recipient")


def new_file_key() -> bytes:
    return os.urandom(FILE_KEY_SIZE)
