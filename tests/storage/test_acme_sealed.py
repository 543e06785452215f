"""Built-in ACME's private keys are sealed in the index: a copy of gateway.db alone holds
neither the account key nor the certificate's key, a node with another seal key gets
a clear error (and the fingerprint still), and such a key is not adopted over them."""

from __future__ import annotations

import secrets

import pytest

from storage import SealError, open_store
from storage.sealing import Sealer
from tests.support.argon import FAST_KDF
from tests.support.certs import issue_pair

from .test_sealing import index_bytes

ACCOUNT = '{"crv": "P-256", "kty": "EC", "d": "private-part-of-the-account-key"}'


def key_body(pem: str) -> bytes:
    """The base64 lines of a PEM key: what a leak of it would show."""
    return "".join(line for line in pem.splitlines() if "-----" not in line).encode()


def test_acme_keys_are_not_in_the_index_and_need_the_seal_key(tmp_path):
    data = tmp_path / "data"
    sealer = Sealer(secrets.token_bytes(32), "the first key")
    pair = issue_pair("mx.example.net")
    store = open_store(data, kdf=FAST_KDF, sealer=sealer)
    store.certificates.keep_account_key(ACCOUNT)
    live = store.certificates.put_live(pair.chain_pem, pair.key_pem, "https://ca.test/dir")
    store.close()

    stored = index_bytes(data)
    assert b"private-part-of-the-account-key" not in stored
    assert key_body(pair.key_pem)[:40] not in stored
    assert key_body(pair.chain_pem)[:40] in stored  # the certificate itself is public

    other = open_store(data, kdf=FAST_KDF, sealer=Sealer(secrets.token_bytes(32), "another key"))
    try:
        assert other.sealing.problem() is not None  # not adopted over the sealed keys
        assert other.certificates.live_sha256() == live.sha256
        with pytest.raises(SealError, match="another key"):
            other.certificates.live()
        with pytest.raises(SealError, match="another key"):
            other.certificates.account_key()
    finally:
        other.close()

    again = open_store(data, kdf=FAST_KDF, sealer=sealer)
    try:
        assert again.certificates.account_key() == ACCOUNT
        found = again.certificates.live()
        assert found is not None and found.key_pem == pair.key_pem
    finally:
        again.close()
