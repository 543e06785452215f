"""ACME state in the store: whichever process the CA or a client reaches answers from it.

The store is what several nodes share (one index); on SQLite the test process opens the
same index as a second writer, as another node's manager would on a shared one. A
`gateway serve` with two workers then answers a challenge it never wrote and hot-loads
a certificate it never issued, in every worker; and a data directory from a version
that kept ACME state only in files is imported on first start.
"""

from __future__ import annotations

import json
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from storage import open_store
from storage.acme_status import AcmeStatus, account_key_path, leaf_sha256, live_pem, write_status
from storage.sealing import default_sealer
from tests.support.acme import HOSTNAME, imaps_certificate, wait_status
from tests.support.argon import FAST_KDF
from tests.support.certs import Pair, issue_pair
from tests.support.ports import free_port

from .conftest import GatewayProcess
from .test_acme import LISTENERS, wait_until_all_serve

pytestmark = pytest.mark.external
TOKEN = "Zm9vYmFyLXRva2VuLWZyb20tYW5vdGhlci1ub2Rl"


def nowhere_env(http_port: int, imaps_port: int, **extra: str) -> dict[str, str]:
    """tls.acme on, its CA unreachable: whatever this gateway serves came from the store."""
    return {
        "GATEWAY_GATEWAY__HOSTNAME": HOSTNAME,
        "GATEWAY_TLS__ACME": "true",
        "GATEWAY_TLS__ACME_DIRECTORY": f"http://127.0.0.1:{free_port()}/directory",
        "GATEWAY_TLS__ACME_HTTP_LISTEN": f"127.0.0.1:{http_port}",
        "GATEWAY_TLS__RELOAD_INTERVAL": "0.5",
        "GATEWAY_IMAP__IMAPS_LISTEN": f"127.0.0.1:{imaps_port}",
        **extra,
    }


def other_node(data_dir: Path):
    """The store as another process opens it (the same seal key, DATA/secrets/seal.key)."""
    return open_store(data_dir, kdf=FAST_KDF, sealer=default_sealer(data_dir))


def fetch(port: int, token: str) -> tuple[int, bytes]:
    url = f"http://127.0.0.1:{port}/.well-known/acme-challenge/{token}"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def trusting(pair: Pair):
    import ssl

    context = ssl.create_default_context()
    pair.ca.configure_trust(context)
    return context


def test_a_challenge_stored_by_another_process_is_answered_by_every_worker(gateway_data):
    http_port = free_port()
    env = nowhere_env(http_port, free_port(), GATEWAY_SERVE__WORKERS="2")
    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready(2 * LISTENERS, timeout=60)
    assert fetch(http_port, TOKEN)[0] == 404
    node = other_node(gateway_data)
    try:
        node.certificates.add_challenge(TOKEN, TOKEN + ".account-thumbprint", 60)
        # The kernel spreads connections over both workers; neither wrote the token.
        answers = {fetch(http_port, TOKEN) for _ in range(12)}
        assert answers == {(200, (TOKEN + ".account-thumbprint").encode())}
        node.certificates.remove_challenge(TOKEN)
        assert {fetch(http_port, TOKEN)[0] for _ in range(6)} == {404}
    finally:
        node.close()
    assert gateway.stop() == 0


def test_a_certificate_stored_elsewhere_is_hot_loaded_by_every_worker(gateway_data):
    imaps = free_port()
    env = nowhere_env(free_port(), imaps, GATEWAY_SERVE__WORKERS="2")
    directory = env["GATEWAY_TLS__ACME_DIRECTORY"]
    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready(2 * LISTENERS, timeout=60)
    # This gateway's own first attempt fails (its CA is nowhere) and writes its status; let
    # it, so that it cannot land after the other node's (the next attempt is minutes away).
    wait_status(gateway_data, lambda s: s.failures >= 1)
    first = issue_pair(HOSTNAME)
    node = other_node(gateway_data)
    try:
        node.certificates.put_live(first.chain_pem, first.key_pem, directory)
        node.certificates.put_status(AcmeStatus(directory=directory, sha256="from-elsewhere"))
        wait_until_all_serve(imaps, trusting(first), leaf_sha256(first.chain_pem))
        assert wait_status(gateway_data, lambda s: s.sha256 == "from-elsewhere")
        cache = live_pem(gateway_data)
        assert stat.S_IMODE(cache.stat().st_mode) == 0o600
        assert cache.read_text() == first.chain_pem + first.key_pem

        renewed = issue_pair(HOSTNAME, ca=first.ca)  # a renewal by another node
        node.certificates.put_live(renewed.chain_pem, renewed.key_pem, directory)
        wait_until_all_serve(imaps, trusting(first), leaf_sha256(renewed.chain_pem))
    finally:
        node.close()
    assert "loaded from the store" in "\n".join(gateway.stderr)
    assert gateway.stop() == 0


def test_files_of_an_older_version_are_imported_on_first_start(gateway_data):
    imaps = free_port()
    env = nowhere_env(free_port(), imaps)
    old = issue_pair(HOSTNAME)
    other_node(gateway_data).close()  # a data directory as an older version left it
    account = '{"crv": "P-256", "kty": "EC", "x": "x", "y": "y", "d": "d"}'
    account_key_path(gateway_data).parent.mkdir(parents=True, mode=0o700)
    account_key_path(gateway_data).write_text(account)
    live_pem(gateway_data).write_text(old.chain_pem + old.key_pem)
    sha256 = leaf_sha256(old.chain_pem)
    directory = env["GATEWAY_TLS__ACME_DIRECTORY"]
    write_status(gateway_data, AcmeStatus(directory=directory, domains=[HOSTNAME], sha256=sha256))

    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready(LISTENERS)
    assert imaps_certificate(imaps, trusting(old)) == sha256
    node = other_node(gateway_data)
    try:
        assert node.certificates.account_key() == account
        live = node.certificates.live()
        assert live is not None and (live.sha256, live.directory) == (sha256, directory)
        assert live.key_pem == old.key_pem
        status = node.certificates.status()
        assert status is not None and status.sha256 == sha256
    finally:
        node.close()
    time.sleep(1)  # a few sync rounds: the imported certificate stays the one served
    assert imaps_certificate(imaps, trusting(old)) == sha256
    assert json.loads(account_key_path(gateway_data).read_text()) == json.loads(account)
    assert gateway.stop() == 0
