"""Sealing: secrets the store keeps sealed under the gateway's seal key (TOTP secrets,
recovery code hashes). Without a usable key everything else in the store works."""

from __future__ import annotations

from typing import Protocol


class Sealing(Protocol):
    def problem(self) -> str | None:
        """Why sealed secrets cannot be used now (no key, not this index's key), or None."""
        ...

    def seal(self, purpose: str, owner: str, plaintext: str) -> str:
        """`plaintext` sealed for (purpose, owner); SealError without a usable key."""
        ...

    def unseal(self, purpose: str, owner: str, sealed: str) -> str:
        """SealError without a usable key, or when `sealed` was sealed for another
        purpose or owner, or altered."""
        ...

    def recovery_code_digest(self, admin: str, code_hash: str) -> str:
        """The form a recovery code's hash is stored in (keyed); SealError without a key."""
        ...

    def derived_digest(self, purpose: str, owner: str, value: str) -> str:
        """A keyed digest of `value` under a key derived from the seal key for `purpose`
        (Sealer.derived_digest); SealError without a usable key."""
        ...
