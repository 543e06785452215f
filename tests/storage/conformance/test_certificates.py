"""Promises of the Certificates area (built-in ACME's state): the account key and the
live certificate's key come back as stored and are shared with every process on the
store, as are the status and the pending HTTP-01 answers; bad input replaces nothing."""

from __future__ import annotations

import time

import pytest

from storage import Store
from storage.acme_status import AcmeStatus, leaf_sha256
from tests.support.certs import issue_pair

DIRECTORY = "https://acme.example.test/directory"
TOKEN = "tok_" + "A" * 39


def test_nothing_is_there_before_acme_ran(contract_store: Store) -> None:
    area = contract_store.certificates
    assert area.account_key() is None
    assert area.live() is None and area.live_sha256() is None
    assert area.status() is None
    assert area.challenge(TOKEN) is None


def test_the_first_account_key_is_kept_and_shared(
    contract_store: Store, sibling_store: Store
) -> None:
    first = contract_store.certificates.keep_account_key('{"kty": "EC", "n": 1}')
    assert first == '{"kty": "EC", "n": 1}'
    # A racing process (or node) that made its own key gets the stored one back.
    assert sibling_store.certificates.keep_account_key('{"kty": "EC", "n": 2}') == first
    assert sibling_store.certificates.account_key() == first


def test_the_live_certificate_is_shared_and_replaced_whole(
    contract_store: Store, sibling_store: Store
) -> None:
    old, new = issue_pair("mx.example.net"), issue_pair("mx.example.net")
    stored = contract_store.certificates.put_live(old.chain_pem, old.key_pem, DIRECTORY)
    assert stored.sha256 == leaf_sha256(old.chain_pem)
    assert sibling_store.certificates.live_sha256() == stored.sha256
    contract_store.certificates.put_live(new.chain_pem, new.key_pem, DIRECTORY + "2")

    seen = sibling_store.certificates.live()
    assert seen is not None
    assert (seen.chain_pem, seen.key_pem) == (new.chain_pem, new.key_pem)
    assert seen.sha256 == leaf_sha256(new.chain_pem) != stored.sha256
    assert seen.directory == DIRECTORY + "2"
    public = sibling_store.certificates.live(with_key=False)
    assert public is not None and public.key_pem == "" and public.sha256 == seen.sha256


def test_a_chain_without_a_certificate_replaces_nothing(contract_store: Store) -> None:
    good = issue_pair("mx.example.net")
    contract_store.certificates.put_live(good.chain_pem, good.key_pem, DIRECTORY)
    with pytest.raises(ValueError):
        contract_store.certificates.put_live("not a certificate", good.key_pem, DIRECTORY)
    live = contract_store.certificates.live()
    assert live is not None and live.chain_pem == good.chain_pem


def test_the_status_is_shared(contract_store: Store, sibling_store: Store) -> None:
    status = AcmeStatus(directory=DIRECTORY, domains=["mx.example.net"], failures=2)
    status.last_error = "challenge failed: mx.example.net: connection refused"
    contract_store.certificates.put_status(status)
    assert sibling_store.certificates.status() == status
    status.failures, status.last_error = 0, ""
    sibling_store.certificates.put_status(status)
    assert contract_store.certificates.status() == status


def test_a_challenge_written_by_one_process_is_answered_by_another(
    contract_store: Store, sibling_store: Store
) -> None:
    contract_store.certificates.add_challenge(TOKEN, TOKEN + ".thumbprint", 60)
    assert sibling_store.certificates.challenge(TOKEN) == TOKEN + ".thumbprint"
    assert sibling_store.certificates.challenge("tok_" + "B" * 39) is None
    sibling_store.certificates.remove_challenge(TOKEN)
    assert contract_store.certificates.challenge(TOKEN) is None
    contract_store.certificates.remove_challenge(TOKEN)  # not pending: nothing happens


def test_a_challenge_expires(contract_store: Store) -> None:
    contract_store.certificates.add_challenge(TOKEN, "answer", 0.2)
    assert contract_store.certificates.challenge(TOKEN) == "answer"
    time.sleep(0.3)
    assert contract_store.certificates.challenge(TOKEN) is None


@pytest.mark.parametrize("token", ["short", "../../etc/passwd" + "A" * 16, "A" * 129, ""])
def test_a_malformed_token_is_refused(contract_store: Store, token: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        contract_store.certificates.add_challenge(token, "answer", 60)
    assert contract_store.certificates.challenge(token) is None
