"""`gateway serve` behind a real HAProxy that speaks PROXY protocol v2 to it."""

from __future__ import annotations

import smtplib
import time

import pytest

from tests.support.haproxy import HAProxy

from .conftest import GatewayProcess, insecure_tls
from .test_serve import MESSAGE, retrieve_all

pytestmark = pytest.mark.external
CLIENT = "127.0.0.7"  # a loopback address that is neither HAProxy's nor the gateway's


@pytest.fixture
def haproxy_in_front(tmp_path, gateway_data, mailbox_on_disk):
    gateway = GatewayProcess(gateway_data, env={"GATEWAY_SMTP__PROXY_PROTOCOL": "true"})
    gateway.wait_ready()
    proxy = HAProxy(tmp_path / "haproxy", {"smtp": [gateway.ports["smtp"]]})
    proxy.start()
    try:
        proxy.wait_all_up()
        yield gateway, proxy
    finally:
        proxy.stop()
        gateway.stop()


def test_the_gateway_behind_haproxy_records_the_clients_address(haproxy_in_front, mailbox_on_disk):
    gateway, proxy = haproxy_in_front
    port = proxy.ports["smtp"]
    with smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(CLIENT, 0)) as client:
        client.starttls(context=insecure_tls())
        client.sendmail("sender@example.org", [mailbox_on_disk["address"]], MESSAGE)
    (stored,) = retrieve_all(
        gateway.ports["pop3"], mailbox_on_disk["address"], mailbox_on_disk["passphrase"]
    )
    received = stored.split(b"\r\n\r\n", 1)[0]
    assert f"([{CLIENT}])".encode() in received, received
    assert b"([127.0.0.1])" not in received


def test_health_checks_take_a_stopped_node_out(haproxy_in_front):
    gateway, proxy = haproxy_in_front
    assert proxy.server_states() == {("smtp_nodes", "node1"): "UP"}
    assert gateway.stop() == 0
    deadline = time.monotonic() + 15
    while proxy.server_states()[("smtp_nodes", "node1")] != "DOWN":
        assert time.monotonic() < deadline, proxy.server_states()
        time.sleep(0.1)
