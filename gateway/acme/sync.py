"""Every process's side of built-in ACME: the store is the truth, DATA/tls/acme/ a cache.

At start-up, before the listeners load a certificate, `import_local_files` moves what a
version without the store area kept in DATA/tls/acme/ (account key, live certificate,
status) into a store that lacks them, and `pull` brings the store's live certificate
and status into this node's cache. Then `CertificateSync` repeats `pull` at
tls.reload_interval: one fingerprint read when nothing changed; a new certificate is
checked, written to live.pem (0600) and hot-loaded by every listener of this process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from storage.acme_status import (
    AcmeStatus,
    account_key_path,
    leaf_sha256,
    live_pem,
    read_status,
    split_live_pem,
    write_private_atomically,
    write_status,
)
from storage.async_store import AsyncStore
from storage.contract import Store
from storage.errors import SealError

from ..tls import TlsManager

log = logging.getLogger("gateway.acme")


@dataclass
class Cached:
    """What this node's cache holds: the live certificate's fingerprint and the status."""

    sha256: str = ""
    status: bytes = b""


def cached(data_dir: Path) -> Cached:
    try:
        sha256 = leaf_sha256(live_pem(data_dir).read_text())
    except (OSError, ValueError):
        sha256 = ""
    status = read_status(data_dir)
    return Cached(sha256, status.to_json() if status else b"")


def import_local_files(store: Store, data_dir: Path) -> None:
    """Put DATA/tls/acme/'s account key, certificate and status into a store without
    them (the upgrade from a version that kept them only there). Idempotent."""
    area = store.certificates
    try:
        if area.account_key() is None and account_key_path(data_dir).exists():
            area.keep_account_key(account_key_path(data_dir).read_text())
            log.info("ACME: account key imported into the store from %s", data_dir)
        status = read_status(data_dir)
        if area.live_sha256() is None and live_pem(data_dir).exists():
            chain, key = split_live_pem(live_pem(data_dir).read_text())
            area.put_live(chain, key, status.directory if status else "")
            log.info("ACME: certificate imported into the store from %s", data_dir)
        if area.status() is None and status is not None:
            area.put_status(status)
    except SealError as exc:
        log.error("ACME: cannot import the certificate files into the store: %s", exc)
    except (OSError, ValueError) as exc:
        log.error("ACME: the files under DATA/tls/acme/ cannot be imported: %s", exc)


def pull(store: Store, data_dir: Path, have: Cached) -> Cached:
    """Bring the store's live certificate and status into this node's cache when they
    differ from `have`; returns what the cache holds now. A certificate whose key does
    not match is refused (the cache keeps the old one)."""
    area = store.certificates
    now = Cached(have.sha256, have.status)
    sha256 = area.live_sha256()
    if sha256 is not None and sha256 != have.sha256:
        live = area.live()
        if live is not None:
            _check_pair(live.chain_pem, live.key_pem)
            write_private_atomically(live_pem(data_dir), (live.chain_pem + live.key_pem).encode())
            now.sha256 = live.sha256
    status = area.status()
    if status is not None and status.to_json() != have.status:
        write_status(data_dir, status)
        now.status = status.to_json()
    return now


def _check_pair(chain_pem: str, key_pem: str) -> None:
    leaf = x509.load_pem_x509_certificate(chain_pem.encode())
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    raw = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if leaf.public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
        raise ValueError("the stored certificate is not for the stored key")


def start_up(store: Store, data_dir: Path) -> None:
    """Before the listeners start: import old files, then fill the cache from the store."""
    import_local_files(store, data_dir)
    try:
        pull(store, data_dir, cached(data_dir))
    except (SealError, OSError, ValueError) as exc:
        log.error("ACME: cannot load the certificate from the store: %s", exc)


class CertificateSync:
    """Poll the store at tls.reload_interval and hot-load a certificate another process
    (or node) stored."""

    def __init__(self, store: AsyncStore, tls: TlsManager, data_dir: Path) -> None:
        self.store, self.tls, self.data_dir = store, tls, data_dir
        self.have = cached(data_dir)
        self._reported = ""

    async def step(self) -> bool:
        """One look; True when a new certificate was loaded. Never raises: a problem is
        logged once (not at every poll) and the current certificate stays."""
        try:
            now = await self.store.batch(lambda store: pull(store, self.data_dir, self.have))
            changed = now.sha256 != self.have.sha256
            if changed:
                self.tls.reload(force=True)
        except Exception as exc:  # the store unreachable, a seal key problem, a bad file
            if str(exc) != self._reported:
                log.error("ACME: cannot load the certificate from the store: %s", exc)
                self._reported = str(exc)
            return False
        self._reported = ""
        self.have = now
        if changed:
            log.info("ACME: certificate %s loaded from the store", now.sha256[:23])
        return changed

    def remember(self, sha256: str, status: AcmeStatus) -> None:
        """What this process wrote itself (the manager): no reload needed for it."""
        self.have = Cached(sha256, status.to_json())
