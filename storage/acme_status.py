"""Where built-in ACME keeps its files, and the status the console and /metrics show.

DATA/tls/acme/ (0700) holds the account key, the live certificate with its key in one
PEM file (one rename replaces both, so no reader ever pairs a new certificate with an
old key), the HTTP-01 challenge tokens (one file each, so every worker's responder can
answer) and status.json. The gateway's ACME manager writes them; the console reads
status.json here (web/ never imports gateway/). Nothing secret goes into status.json:
the certificate's public facts and the CA's last error message.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

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


def challenge_dir(data_dir: Path) -> Path:
    return acme_dir(data_dir) / "challenges"


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


def read_status(data_dir: Path) -> AcmeStatus | None:
    """The status file, or None when ACME never ran here (or the file is unreadable)."""
    try:
        raw = json.loads(status_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    known = AcmeStatus.__dataclass_fields__
    try:
        return AcmeStatus(**{k: v for k, v in raw.items() if k in known})
    except TypeError:
        return None


def write_status(data_dir: Path, status: AcmeStatus) -> None:
    write_private_atomically(status_path(data_dir), status.to_json())
