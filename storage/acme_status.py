"""Built-in ACME's node-local files, and the status the console and /metrics show.

The truth is the store's Certificates area (storage/contract/certificates.py), shared
by every node on one index. DATA/tls/acme/ (0700) is each node's cache of it: live.pem,
the live certificate with its key in one PEM file (one rename replaces both, so no
reader ever pairs a new certificate with an old key), which every listener loads, and
status.json, which the console and /metrics read (web/ never imports gateway/). Every
process refreshes both from the store at tls.reload_interval. account.json and
challenges/ are what versions before the store area kept here: account.json (and a
live.pem and status.json the store lacks) is imported on first start. Nothing secret
goes into status.json: the certificate's public facts and the CA's last error message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .file_modes import create_private_file, fsync_directory, make_private_dirs

# RFC 8555 §8.3: a token is base64url; anything else is not a token we wrote.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def acme_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "tls" / "acme"


def live_pem(data_dir: Path) -> Path:
    """The certificate chain followed by its private key: what every listener loads."""
    return acme_dir(data_dir) / "live.pem"


def account_key_path(data_dir: Path) -> Path:
    return acme_dir(data_dir) / "account.json"


def status_path(data_dir: Path) -> Path:
    return acme_dir(data_dir) / "status.json"


def write_private_atomically(path: Path, data: bytes) -> None:
    """Write `path` (0600) under a temporary name, fsync, rename: readers see the old
    file or the new one, never a part, and a failed write leaves the old one in place."""
    make_private_dirs(path.parent)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with os.fdopen(create_private_file(temp), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_directory(path.parent)


@dataclass
class AcmeStatus:
    """What the last attempts did. Times are Unix seconds; 0 means never."""

    directory: str = ""
    domains: list[str] = field(default_factory=list)
    # The live certificate (empty before the first issuance).
    issuer: str = ""
    sha256: str = ""
    not_before: float = 0.0
    not_after: float = 0.0
    issued_at: float = 0.0
    # The attempts.
    last_attempt: float = 0.0
    last_error: str = ""  # empty after a success
    failures: int = 0  # consecutive failed attempts
    next_attempt: float = 0.0

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, text: str | bytes) -> AcmeStatus | None:
        """The status in `text`, or None when it is not one (fields unknown here are
        ignored: a newer version may have written it)."""
        try:
            raw = json.loads(text)
        except ValueError:
            return None
        if not isinstance(raw, dict):
            return None
        known = cls.__dataclass_fields__
        try:
            return cls(**{k: v for k, v in raw.items() if k in known})
        except TypeError:
            return None


def read_status(data_dir: Path) -> AcmeStatus | None:
    """The status file, or None when ACME never ran here (or the file is unreadable)."""
    try:
        text = status_path(data_dir).read_text()
    except OSError:
        return None
    return AcmeStatus.from_json(text)


def leaf_sha256(chain_pem: str) -> str:
    """The SHA-256 fingerprint (colon-separated hex) of the first certificate in
    `chain_pem`, as TLS clients and the Connect page show it; ValueError if none."""
    leaf = x509.load_pem_x509_certificate(chain_pem.encode())
    digest = hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).digest()
    return ":".join(f"{b:02X}" for b in digest)


def split_live_pem(text: str) -> tuple[str, str]:
    """(chain, private key) of a live.pem (the chain, then the key); ValueError when
    either is missing."""
    start = text.find("-----BEGIN PRIVATE KEY-----")
    if start < 0:
        start = text.find("-----BEGIN EC PRIVATE KEY-----")
    if start <= 0:
        raise ValueError("not a certificate chain followed by its private key")
    return text[:start], text[start:]


def write_status(data_dir: Path, status: AcmeStatus) -> None:
    write_private_atomically(status_path(data_dir), status.to_json())
