"""gateway.trusted_proxies: only the load balancer may send a PROXY header.

A real `gateway serve` with PROXY protocol on SMTP, POP3 and IMAP and
trusted_proxies = 127.0.0.1/32, the address a real HAProxy connects from. A client on
127.0.0.7 that reaches the listeners directly and forges a header naming another address
is closed without a greeting on every protocol; the same client through HAProxy is
served and recorded as 127.0.0.7.
"""

from __future__ import annotations

import json
import smtplib
import socket
import struct

import pytest

from tests.serve.conftest import GatewayProcess, cli, insecure_tls
from tests.serve.test_serve import MESSAGE, retrieve_all
from tests.support.haproxy import HAProxy

pytestmark = pytest.mark.external
CLIENT = "127.0.0.7"  # neither HAProxy's address (127.0.0.1) nor in trusted_proxies
FORGED = "203.0.113.9"  # what the forged headers claim
PROXIED = ("smtp", "pop3", "imap")
PROXY_ON = {f"GATEWAY_{name.upper()}__PROXY_PROTOCOL": "true" for name in PROXIED}


def forged_v2_header(source: str = FORGED) -> bytes:
    signature = b"\r\n\r\n\x00\r\nQUIT\n"
    body = socket.inet_aton(source) + socket.inet_aton("127.0.0.1") + struct.pack("!HH", 4000, 25)
    return signature + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def answer_to_forged_header(port: int) -> bytes:
    """Everything the gateway sends a direct client that opens with a forged header."""
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), 15, (CLIENT, 0)) as sock:
        sock.sendall(forged_v2_header())
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return bytes(received)


@pytest.fixture
def box(gateway_data) -> dict:
    assert cli(gateway_data, "domain", "add", "example.test").returncode == 0
    made = cli(gateway_data, "mailbox", "create", "--domain", "example.test", "--json")
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)


def behind_haproxy(tmp_path, gateway_data, env: dict[str, str]):
    gateway = GatewayProcess(gateway_data, env={**PROXY_ON, **env})
    gateway.wait_ready()
    proxy = HAProxy(tmp_path / "haproxy", {name: [gateway.ports[name]] for name in PROXIED})
    proxy.start()
    proxy.wait_all_up()
    return gateway, proxy


def test_a_direct_client_with_a_forged_header_is_closed_on_every_protocol(
    tmp_path, gateway_data, box
):
    env = {"GATEWAY_GATEWAY__TRUSTED_PROXIES": "127.0.0.1/32"}
    gateway, proxy = behind_haproxy(tmp_path, gateway_data, env)
    try:
        for name in PROXIED:
            assert answer_to_forged_header(gateway.ports[name]) == b"", name
        # The balancer itself is trusted: the same client through it is served as itself.
        port = proxy.ports["smtp"]
        with smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(CLIENT, 0)) as smtp:
            smtp.starttls(context=insecure_tls())
            smtp.sendmail("sender@example.org", [box["address"]], MESSAGE)
        (stored,) = retrieve_all(proxy.ports["pop3"], box["address"], box["passphrase"])
    finally:
        proxy.stop()
        assert gateway.stop() == 0
    trace = stored.split(b"\r\n\r\n", 1)[0]
    assert f"([{CLIENT}])".encode() in trace and FORGED.encode() not in trace
    log = "\n".join(gateway.stderr)
    for name in PROXIED:
        assert f"{name} {CLIENT}: not a trusted proxy (gateway.trusted_proxies)" in log
    assert "gateway.trusted_proxies is empty" not in log


def test_an_empty_list_trusts_any_peer_as_before_and_says_so(tmp_path, gateway_data, box):
    gateway, proxy = behind_haproxy(tmp_path, gateway_data, {})
    try:
        greeting = answer_to_forged_header_until_greeting(gateway.ports["smtp"])
    finally:
        proxy.stop()
        assert gateway.stop() == 0
    assert greeting.startswith(b"220 "), greeting
    log = "\n".join(gateway.stderr)
    for name in PROXIED:
        assert f"{name}: proxy_protocol is on and gateway.trusted_proxies is empty" in log


def answer_to_forged_header_until_greeting(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), 15, (CLIENT, 0)) as sock:
        sock.sendall(forged_v2_header())
        return sock.recv(4096)


def test_a_bad_network_in_the_list_is_refused_at_start(gateway_data, box):
    env = {**PROXY_ON, "GATEWAY_GATEWAY__TRUSTED_PROXIES": "10.0.0.0/33"}
    gateway = GatewayProcess(gateway_data, env=env)
    assert gateway.proc.wait(timeout=60) != 0
    problems = "\n".join(gateway.stdout + gateway.stderr)
    assert "gateway.trusted_proxies" in problems and "10.0.0.0/33" in problems


def test_the_list_matches_ipv4_mapped_peers_and_refuses_what_is_not_an_address():
    from gateway.proxy_protocol import TrustedProxies

    trusted = TrustedProxies(["10.0.0.0/24", "2001:db8::/32"])
    assert trusted.trusts("10.0.0.5") and trusted.trusts("::ffff:10.0.0.5")
    assert trusted.trusts("2001:db8::1")
    assert not trusted.trusts("10.0.1.5") and not trusted.trusts("not-an-ip")
    assert TrustedProxies([]).trusts("198.51.100.1")  # empty: any peer, as before
