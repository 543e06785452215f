"""TOTP (RFC 6238) second factor and recovery codes (stored as SHA-256 hashes, which
the store keys with the gateway's seal key)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
import segno

ISSUER = "Journal Gateway"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG data URI, rendered locally (no network, no inline script)."""
    return segno.make(uri, error="m").svg_data_uri(scale=6, border=2)


def matching_step(secret: str, code: str, now: float, last_step: int = -1) -> int | None:
    """The time step a 6-digit code belongs to (±1 step), or None; refuses replays."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = int(now // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if candidate <= last_step:
            continue
        expected = totp.generate_otp(candidate)
        if hmac.compare_digest(expected, code):
            return candidate
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like "k7mq-2xrd-9tnb" (12 of 30 characters: about 59 bits each)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 12, 4)))
    return codes


def hash_recovery_code(code: str) -> str:
    cleaned = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(cleaned.encode()).hexdigest()


def use_recovery_code(digest: str, hashes: list[str]) -> list[str] | None:
    """The remaining hashes when `digest` (the store's recovery_code_digest of
    hash_recovery_code(code)) is one of them, else None."""
    for stored in hashes:
        if hmac.compare_digest(stored, digest):
            return [h for h in hashes if h != stored]
    return None
