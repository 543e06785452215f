"""Certificates: the state of built-in ACME, shared by every process (and, on a shared
index, every node) that opens the store.

The process holding the `acme` lease issues and renews; every other one reads the live
certificate from here (a cheap fingerprint check first) and its HTTP-01 responder
answers from the pending challenges here, so the CA may reach any node. Private keys
(the ACME account's, the certificate's) are sealed with the store's sealing area: the
seal key comes from each node's configuration, never from the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..acme_status import AcmeStatus


@dataclass(frozen=True)
class LiveCertificate:
    """The certificate every listener serves. `key_pem` is empty when not asked for."""

    chain_pem: str  # the leaf first, then its intermediates
    key_pem: str
    sha256: str  # the leaf's fingerprint (colon-separated hex): the version
    directory: str  # the ACME directory it came from
    stored_at: float


class Certificates(Protocol):
    def account_key(self) -> str | None:
        """The ACME account key (a JWK in JSON), or None before the first one.
        SealError when the seal key cannot open it."""
        ...

    def keep_account_key(self, jwk_json: str) -> str:
        """Store `jwk_json` unless an account key exists; return the stored one (of
        racing writers, the first one's is kept). SealError without a usable seal key."""
        ...

    def live(self, *, with_key: bool = True) -> LiveCertificate | None:
        """The live certificate, or None. With `with_key`, its private key unsealed
        (SealError when the seal key cannot open it); without, `key_pem` is ""."""
        ...

    def live_sha256(self) -> str | None:
        """The live certificate's fingerprint only: what a poller compares."""
        ...

    def put_live(self, chain_pem: str, key_pem: str, directory: str) -> LiveCertificate:
        """Replace the live certificate (chain and sealed key in one write). ValueError
        when the chain holds no certificate; SealError without a usable seal key."""
        ...

    def status(self) -> AcmeStatus | None:
        """What the last attempts did, or None when ACME never ran on this store."""
        ...

    def put_status(self, status: AcmeStatus) -> None:
        """Replace the status."""
        ...

    def add_challenge(self, token: str, key_authorization: str, ttl: float) -> None:
        """Make an HTTP-01 answer pending for `ttl` seconds (replacing one for the same
        token); expired ones are dropped. ValueError for a token that is not base64url."""
        ...

    def challenge(self, token: str) -> str | None:
        """The key authorization pending for `token`, or None (unknown or expired)."""
        ...

    def remove_challenge(self, token: str) -> None:
        """Withdraw `token` (nothing happens when it is not pending)."""
        ...
