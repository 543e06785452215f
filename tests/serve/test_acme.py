"""Built-in ACME against Debian's pebble: a real `gateway serve` gets, renews and serves
a certificate that real clients verify against pebble's root; a failing challenge
replaces nothing and says why on the Connect page and in /metrics."""

from __future__ import annotations

import socket
import ssl
import stat
import time
import urllib.error
import urllib.request

import pytest

from storage.acme_status import acme_dir, live_pem
from tests.support.acme import (
    FAST_RENEWAL,
    HOSTNAME,
    acme_env,
    connect_page,
    fingerprint,
    first_admin_password,
    https_request,
    imaps_certificate,
    smtp_starttls_certificate,
    wait_status,
)
from tests.support.pebble import start_pebble
from tests.support.ports import free_port

from .conftest import GatewayProcess, cli
from .test_observability import samples

pytestmark = pytest.mark.external
LISTENERS = 6  # smtp, pop3, imap, imaps, acme-http, web console


@pytest.fixture
def pebble(tmp_path):
    server = start_pebble(tmp_path / "pebble", http_port=free_port())
    yield server
    server.stop()


def metrics(port: int, data_dir, trust) -> dict:
    token = cli(data_dir, "metrics", "token").stdout.strip()
    status, text, _seen, _ = https_request(
        port, trust, "/metrics", {"Authorization": f"Bearer {token}"}
    )
    assert status == 200
    return samples(text)


def test_first_issuance_is_served_on_starttls_imaps_and_https(pebble, gateway_data):
    imaps = free_port()
    gateway = GatewayProcess(gateway_data, env=acme_env(pebble, imaps_port=str(imaps)))
    gateway.wait_ready(LISTENERS)
    status = wait_status(gateway_data, lambda s: bool(s.sha256))
    trust = pebble.trust()  # pebble's root only: a self-signed certificate fails here

    assert imaps_certificate(imaps, trust) == status.sha256
    assert smtp_starttls_certificate(gateway.ports["smtp"], trust) == status.sha256
    code, body, seen, _ = https_request(gateway.ports["web"], trust, "/healthz")
    assert (code, seen) == (200, status.sha256)
    assert status.domains == [HOSTNAME] and "Pebble Intermediate" in status.issuer
    assert status.failures == 0 and status.last_error == ""

    folder = acme_dir(gateway_data)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("live.pem", "status.json"):  # this node's cache of the store's state
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    assert not (folder / "account.json").exists()  # sealed in the store, not a file

    page = connect_page(gateway.ports["web"], trust, first_admin_password(gateway.stdout))
    assert "Certificate from ACME" in page and status.sha256 in page
    assert "Pebble Intermediate" in page and "The certificate is self-signed" not in page
    found = metrics(gateway.ports["web"], gateway_data, trust)
    assert found[("journal_gateway_acme_renewals_total", (("result", "success"),))] == 1
    assert found[("journal_gateway_acme_consecutive_failures", ())] == 0
    assert gateway.stop() == 0


def test_renewal_is_hot_loaded_without_dropping_an_open_connection(pebble, gateway_data):
    imaps = free_port()
    env = acme_env(pebble, imaps_port=str(imaps), GATEWAY_TLS__ACME_RENEW_FRACTION=FAST_RENEWAL)
    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready(LISTENERS)
    wait_status(gateway_data, lambda s: bool(s.sha256))
    trust = pebble.trust()
    raw = socket.create_connection(("127.0.0.1", imaps), timeout=10)
    held = trust.wrap_socket(raw, server_hostname=HOSTNAME)
    try:
        assert held.recv(1024).startswith(b"* OK")
        old = fingerprint(held.getpeercert(binary_form=True))
        renewed = wait_status(gateway_data, lambda s: s.sha256 not in ("", old))
        assert renewed.issued_at > 0 and renewed.failures == 0
        assert imaps_certificate(imaps, trust) != old  # new handshakes get the new one
        held.sendall(b"a1 NOOP\r\n")  # the connection opened before the renewal lives on
        assert b"a1 OK" in _read_until(held, b"a1 ")
    finally:
        held.close()
    found = metrics(gateway.ports["web"], gateway_data, trust)
    assert found[("journal_gateway_acme_renewals_total", (("result", "success"),))] >= 2
    assert gateway.stop() == 0


def test_failing_challenge_replaces_nothing_and_says_why(pebble, gateway_data):
    imaps = free_port()
    env = acme_env(pebble, imaps_port=str(imaps), GATEWAY_TLS__ACME_RENEW_FRACTION=FAST_RENEWAL)
    env["GATEWAY_TLS__ACME_RETRY_MIN"] = "1"
    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready(LISTENERS)
    wait_status(gateway_data, lambda s: bool(s.sha256))
    pebble.point_names_at("127.0.0.2")  # the CA's check now reaches no responder
    working = wait_status(gateway_data, lambda s: s.failures >= 1).sha256
    # A renewal that succeeded just before the switch may still be reaching the local
    # cache (the sync runs every tls.reload_interval = 0.5 s): let it settle, then compare
    # across the failures that follow.
    time.sleep(1.5)
    before = live_pem(gateway_data).read_bytes()
    seen = wait_status(gateway_data, lambda s: s.failures >= 1).failures
    failed = wait_status(gateway_data, lambda s: s.failures >= max(3, seen + 1))

    assert "challenge failed" in failed.last_error and HOSTNAME in failed.last_error
    assert live_pem(gateway_data).read_bytes() == before
    trust = pebble.trust()
    assert imaps_certificate(imaps, trust) == working == failed.sha256
    page = connect_page(gateway.ports["web"], trust, first_admin_password(gateway.stdout))
    assert "The last ACME attempt failed" in page and "challenge failed" in page
    assert "The current certificate stays in use" in page
    found = metrics(gateway.ports["web"], gateway_data, trust)
    assert found[("journal_gateway_acme_renewals_total", (("result", "failure"),))] >= 2
    assert found[("journal_gateway_acme_consecutive_failures", ())] >= 2
    assert "challenge failed" in "\n".join(gateway.stderr)
    assert gateway.stop() == 0


def test_the_responder_answers_only_pending_tokens(pebble, gateway_data):
    gateway = GatewayProcess(gateway_data, env=acme_env(pebble))
    gateway.wait_ready(LISTENERS)
    base = f"http://127.0.0.1:{pebble.http_port}"
    for path in (
        "/.well-known/acme-challenge/" + "A" * 43,
        "/.well-known/acme-challenge/../x",
        "/",
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + path, timeout=10)
        assert refused.value.code == 404
    assert gateway.stop() == 0


def test_with_two_workers_one_issues_and_both_serve_it(pebble, gateway_data):
    imaps = free_port()
    env = acme_env(pebble, imaps_port=str(imaps), GATEWAY_SERVE__WORKERS="2")
    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready(2 * LISTENERS, timeout=60)
    status = wait_status(gateway_data, lambda s: bool(s.sha256))
    trust = pebble.trust()
    seen = set()
    for _ in range(16):  # the kernel spreads new connections over both workers
        try:
            seen.add(imaps_certificate(imaps, trust))
        except ssl.SSLCertVerificationError:
            seen.add("self-signed")  # a worker not yet reloaded (tls.reload_interval)
    assert status.sha256 in seen
    wait_until_all_serve(imaps, trust, status.sha256)
    logs = "\n".join(gateway.stderr)
    assert logs.count("ACME: requesting a certificate") == 1
    assert gateway.stop() == 0


def wait_until_all_serve(port: int, trust, sha256: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if all(imaps_certificate(port, trust) == sha256 for _ in range(16)):
                return
        except ssl.SSLCertVerificationError:
            pass
        time.sleep(0.2)
    raise AssertionError("a worker never loaded the ACME certificate")


def _read_until(sock, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_without_a_first_certificate_the_self_signed_one_serves_until_issuance(
    pebble, gateway_data
):
    pebble.point_names_at("127.0.0.2")  # the first issuance cannot pass its challenge
    imaps = free_port()
    env = acme_env(pebble, imaps_port=str(imaps), GATEWAY_TLS__ACME_RETRY_MIN="1")
    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready(LISTENERS)
    failed = wait_status(gateway_data, lambda s: s.failures >= 1)
    assert failed.sha256 == "" and "challenge failed" in failed.last_error
    assert not live_pem(gateway_data).exists()
    trust = pebble.trust()
    with pytest.raises(ssl.SSLCertVerificationError):
        imaps_certificate(imaps, trust)  # the temporary self-signed certificate
    pebble.point_names_at("127.0.0.1")  # fixed: the next retry issues, no restart needed
    issued = wait_status(gateway_data, lambda s: bool(s.sha256))
    assert issued.failures == 0 and imaps_certificate(imaps, trust) == issued.sha256
    assert gateway.stop() == 0


def test_a_restart_with_another_name_gets_a_new_certificate_at_once(pebble, gateway_data):
    imaps = free_port()
    gateway = GatewayProcess(gateway_data, env=acme_env(pebble, imaps_port=str(imaps)))
    gateway.wait_ready(LISTENERS)
    first = wait_status(gateway_data, lambda s: bool(s.sha256))
    assert gateway.stop() == 0  # releases the `acme` lease: the next start need not wait
    names = f"{HOSTNAME},mx2.acme.test"
    env = acme_env(pebble, imaps_port=str(imaps), GATEWAY_TLS__ACME_DOMAINS=names)
    again = GatewayProcess(gateway_data, env=env)
    again.wait_ready(LISTENERS)
    second = wait_status(gateway_data, lambda s: s.sha256 not in ("", first.sha256), timeout=30)
    assert second.domains == [HOSTNAME, "mx2.acme.test"]
    assert imaps_certificate(imaps, pebble.trust()) == second.sha256
    assert again.stop() == 0
