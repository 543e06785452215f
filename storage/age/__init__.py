"""age v1 (age-encryption.org/v1) on pyca/cryptography primitives."""

from .errors import AgeError, HeaderError, MacError, NoMatchError, PayloadError
from .file import AgeReader, AgeWriter, decrypt_bytes, encrypt_bytes
from .header import Header, Stanza
from .recipients import (
    HybridIdentity,
    HybridRecipient,
    ScryptIdentity,
    X25519Identity,
    X25519Recipient,
    parse_identity,
    parse_recipient,
)

__all__ = [
    "AgeError",
    "AgeReader",
    "AgeWriter",
    "Header",
    "HeaderError",
    "HybridIdentity",
    "HybridRecipient",
    "MacError",
    "NoMatchError",
    "PayloadError",
    "ScryptIdentity",
    "Stanza",
    "X25519Identity",
    "X25519Recipient",
    "decrypt_bytes",
    "encrypt_bytes",
    "parse_identity",
    "parse_recipient",
]
