"""Sealing small gateway secrets at rest: TOTP seeds now, fetch-source credentials later.

One 32-byte gateway key seals each value with ChaCha20-Poly1305 under a fresh random
12-byte nonce. The associated data binds the value to its purpose and owner
(``jgw-seal-v1|totp|alice``), so a sealed value copied to another admin's row, or used
for another purpose, fails to unseal. A sealed value is stored as text:
``sealed:v1:`` + base64(nonce || ciphertext || tag).

Values that are only ever compared, never read back (the hashes of recovery codes),
are keyed instead: ``mac:v1:`` + hex HMAC-SHA256 under a subkey of the gateway key,
over the same purpose and owner binding. A copy of the index alone then offers
nothing to guess offline against.

The key never sits beside what it seals: it comes from the node's own configuration
(a key file, or the key itself in an environment variable), by default
DATA/secrets/seal.key, and never from the index or the object store. So a copy of
gateway.db alone (a leaked index backup) does not reveal what is sealed in it.

Key files and the environment hold the key as text: base64 (standard or URL-safe) or
hex of the 32 bytes, surrounding whitespace ignored, e.g. ``openssl rand -base64 32``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .blobs import fsync_dir
from .errors import SealError
from .file_modes import create_private_file, make_private_dirs, publish_once

log = logging.getLogger("storage.sealing")

KEY_BYTES = 32
NONCE_BYTES = 12
PREFIX = "sealed:v1:"
MAC_PREFIX = "mac:v1:"
_AAD = b"jgw-seal-v1|"
DEFAULT_KEY_FILE = Path("secrets") / "seal.key"


def is_sealed(value: str | None) -> bool:
    return value is not None and value.startswith(PREFIX)


def is_keyed(value: str) -> bool:
    return value.startswith(MAC_PREFIX)


class Sealer:
    """seal()/unseal() short text values under the gateway key.

    `origin` says where the key came from (a path or a setting name), for error
    messages; the key itself is never shown, logged or put in a repr.
    """

    def __init__(self, key: bytes, origin: str = "the seal key") -> None:
        if len(key) != KEY_BYTES:
            raise SealError(f"{origin}: a seal key is {KEY_BYTES} bytes, not {len(key)}")
        self._aead = ChaCha20Poly1305(key)
        self._mac_key = hmac.new(key, _AAD + b"mac-key", hashlib.sha256).digest()
        self.origin = origin

    def __repr__(self) -> str:
        return f"Sealer(origin={self.origin!r})"

    @staticmethod
    def _aad(purpose: str, owner: str) -> bytes:
        if not purpose or "|" in purpose:
            raise ValueError("a sealing purpose is a non-empty name without '|'")
        return _AAD + purpose.encode() + b"|" + owner.encode()

    def seal(self, purpose: str, owner: str, plaintext: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), self._aad(purpose, owner))
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def keyed_digest(self, purpose: str, owner: str, value: str) -> str:
        """A keyed digest of `value` for (purpose, owner), to compare with hmac.compare_digest."""
        mac = hmac.new(self._mac_key, self._aad(purpose, owner) + b"|" + value.encode(), "sha256")
        return MAC_PREFIX + mac.hexdigest()

    def derived_digest(self, purpose: str, owner: str, value: str) -> str:
        """A keyed digest under a key of its own, derived from the gateway key for
        `purpose` alone (the robots' reply memory): it opens nothing else, and the
        values it keys (sender addresses) are never stored in clear."""
        subkey = hmac.new(self._mac_key, _AAD + b"derive|" + purpose.encode(), "sha256").digest()
        mac = hmac.new(subkey, self._aad(purpose, owner) + b"|" + value.encode(), "sha256")
        return MAC_PREFIX + mac.hexdigest()

    def unseal(self, purpose: str, owner: str, value: str) -> str:
        """The plaintext; SealError when the key is another one or the value was altered."""
        if not is_sealed(value):
            raise SealError(f"the {purpose} secret of {owner} is not a sealed value")
        try:
            raw = base64.b64decode(value[len(PREFIX) :], validate=True)
        except binascii.Error:
            raise SealError(f"the sealed {purpose} secret of {owner} is damaged") from None
        if len(raw) < NONCE_BYTES + 16:
            raise SealError(f"the sealed {purpose} secret of {owner} is damaged")
        try:
            nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
            plain = self._aead.decrypt(nonce, sealed, self._aad(purpose, owner))
        except InvalidTag:
            message = (  # not inline: the extraction of console strings would take its tail
                f"the sealed {purpose} secret of {owner} does not open with {self.origin}"
                " (another key, or a damaged or moved value)"
            )
            raise SealError(message) from None
        return plain.decode()


def parse_key(text: str | bytes, origin: str) -> bytes:
    """32 key bytes from their base64 or hex text; SealError (naming `origin`) otherwise."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise SealError(f"{origin}: not a seal key (expected base64 or hex text)") from None
    cleaned = "".join(text.split())
    candidates = []
    if len(cleaned) == 2 * KEY_BYTES:
        try:
            candidates.append(bytes.fromhex(cleaned))
        except ValueError:
            pass
    for alphabet in (b"+/", b"-_"):  # standard, URL-safe
        try:
            candidates.append(base64.b64decode(cleaned.encode("ascii"), alphabet, validate=True))
        except (binascii.Error, ValueError):
            continue
    for key in candidates:
        if len(key) == KEY_BYTES:
            return key
    message = (  # not inline: the extraction of console strings would take its tail
        f"{origin}: not a seal key (expected {KEY_BYTES} bytes as base64 or hex,"
        " e.g. from `openssl rand -base64 32`)"
    )
    raise SealError(message)


def read_key_file(path: Path) -> bytes:
    """The key in `path`; SealError with a clear message when it is missing or invalid."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise SealError(f"seal key file {path} does not exist") from None
    except OSError as exc:
        raise SealError(f"seal key file {path} is unreadable: {exc.strerror}") from None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning(
            "seal key file %s has mode %04o: others on this machine may read it (chmod 600)",
            path,
            mode,
        )
    return parse_key(text, f"seal key file {path}")


def encode_key(key: bytes) -> str:
    """The text form of a key, as key files and GATEWAY_SECRETS__SEAL_KEY hold it."""
    return base64.b64encode(key).decode("ascii") + "\n"


def write_new_key_file(path: Path, key: bytes) -> None:
    """Write `key` to a new file `path` (mode 0600, fsynced); FileExistsError if it exists."""
    make_private_dirs(path.parent)
    with os.fdopen(create_private_file(path), "w", encoding="ascii") as fh:
        fh.write(encode_key(key))
        fh.flush()
        os.fsync(fh.fileno())
    fsync_dir(path.parent)


def load_or_create_key_file(path: Path) -> bytes:
    """The key in `path`, made first (random, mode 0600, atomically, once) if missing.

    Two processes starting at once both end up with the one key that won the race:
    each writes a temporary file and hard-links it to `path`, which only one can do.
    """
    if publish_once(path, encode_key(secrets.token_bytes(KEY_BYTES)).encode("ascii")):
        log.info("made a new seal key in %s", path)
    return read_key_file(path)


def default_key_path(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / DEFAULT_KEY_FILE


def default_sealer(data_dir: str | os.PathLike) -> Sealer:
    """The sealer of DATA/secrets/seal.key, the key made on first use when none is set."""
    path = default_key_path(data_dir)
    return Sealer(load_or_create_key_file(path), str(path))
