"""Every process's certificate sync (gateway/acme/sync.py) against a real store and a
real TlsManager: a stored certificate is hot-loaded; one whose key does not match, or
whose key this node's seal key cannot open, is refused with one clear log line while
the certificate in use stays."""

from __future__ import annotations

import logging
import secrets

from gateway.acme.sync import CertificateSync
from gateway.tls import TlsManager
from storage import open_store
from storage.acme_status import leaf_sha256, live_pem
from storage.async_store import AsyncStore
from storage.sealing import Sealer
from tests.support.argon import FAST_KDF
from tests.support.certs import issue_pair

HOSTNAME = "mx.example.net"
DIRECTORY = "https://ca.example.net/directory"


def tls_for(data_dir) -> TlsManager:
    return TlsManager("", "", data_dir, HOSTNAME, acme_pem=live_pem(data_dir))


async def test_a_mismatched_pair_is_refused_and_a_good_one_loaded(store, data_dir, caplog):
    tls = tls_for(data_dir)
    sync = CertificateSync(AsyncStore(store, max_workers=1), tls, data_dir)
    mine, other = issue_pair(HOSTNAME), issue_pair(HOSTNAME)
    store.certificates.put_live(mine.chain_pem, other.key_pem, DIRECTORY)
    with caplog.at_level(logging.ERROR, logger="gateway.acme"):
        assert await sync.step() is False
        assert await sync.step() is False
    refusals = [r for r in caplog.records if "cannot load the certificate" in r.getMessage()]
    assert len(refusals) == 1  # once, not at every poll
    assert "not for the stored key" in refusals[0].getMessage()
    assert tls.self_signed and not live_pem(data_dir).exists()

    store.certificates.put_live(mine.chain_pem, mine.key_pem, DIRECTORY)
    assert await sync.step() is True
    assert tls.info()["sha256"] == leaf_sha256(mine.chain_pem) and not tls.self_signed
    assert await sync.step() is False  # nothing new: no reload


async def test_another_seal_key_keeps_the_certificate_in_use(store, data_dir, caplog):
    first = issue_pair(HOSTNAME)
    store.certificates.put_live(first.chain_pem, first.key_pem, DIRECTORY)
    tls = tls_for(data_dir)
    assert await CertificateSync(AsyncStore(store, max_workers=1), tls, data_dir).step()
    served = tls.info()["sha256"]

    wrong = open_store(data_dir, kdf=FAST_KDF, sealer=Sealer(secrets.token_bytes(32), "key B"))
    try:
        store.certificates.put_live(*_pair_texts(issue_pair(HOSTNAME)), DIRECTORY)
        sync = CertificateSync(AsyncStore(wrong, max_workers=1), tls, data_dir)
        with caplog.at_level(logging.ERROR, logger="gateway.acme"):
            assert await sync.step() is False
        assert "key B" in caplog.text and "BEGIN" not in caplog.text
        assert tls.info()["sha256"] == served
    finally:
        wrong.close()


def _pair_texts(pair) -> tuple[str, str]:
    return pair.chain_pem, pair.key_pem
