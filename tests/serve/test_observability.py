"""/metrics (Prometheus text, parsed with prometheus_client's parser), /readyz, /healthz."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from .conftest import GatewayProcess, insecure_tls
from .test_serve import MESSAGE, retrieve_all, send


def fetch(port: int, path: str, token: str = "") -> tuple[int, str]:
    request = urllib.request.Request(f"https://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=insecure_tls(), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_a_delivery_and_a_login(running_gateway, mailbox_on_disk, gateway_data):
    web = running_gateway.ports["web"]
    send(running_gateway.ports["smtp"], mailbox_on_disk["address"], MESSAGE)
    retrieve_all(
        running_gateway.ports["pop3"], mailbox_on_disk["address"], mailbox_on_disk["passphrase"]
    )
    assert fetch(web, "/metrics")[0] == 401  # the token made on first start is required
    token = (gateway_data / "secrets" / "metrics-token").read_text().strip()
    status, text = fetch(web, "/metrics", token=token)
    assert status == 200
    got = samples(text)
    assert got[("journal_gateway_smtp_messages_total", (("result", "accepted"),))] == 1
    assert got[("journal_gateway_smtp_transaction_seconds_count", (("result", "accepted"),))] == 1
    assert got[("journal_gateway_logins_total", (("protocol", "pop3"), ("result", "ok")))] == 1
    assert got[("journal_gateway_login_waiting", ())] == 0
    mailbox_label = (("domain", "example.test"), ("mailbox", mailbox_on_disk["id"]))
    assert got[("journal_gateway_mailbox_messages", mailbox_label)] == 1
    assert got[("journal_gateway_disk_free_bytes", ())] > 0
    assert got[("journal_gateway_tls_certificate_seconds_left", ())] > 86400
    assert mailbox_on_disk["passphrase"] not in text
    assert "example.org" not in text  # no envelope or header data in labels


def test_readyz_and_healthz(running_gateway):
    web = running_gateway.ports["web"]
    assert fetch(web, "/healthz") == (200, "ok")
    status, body = fetch(web, "/readyz")
    assert status == 200
    checks = json.loads(body)["checks"]
    assert checks == {
        "store_writable": True,
        "smtp_listening": True,
        "pop3_listening": True,
        "imap_listening": True,
    }


def test_metrics_token_is_required_when_configured(gateway_data, mailbox_on_disk):
    gateway = GatewayProcess(gateway_data, env={"GATEWAY_WEB__METRICS_TOKEN": "s3cret-token"})
    gateway.wait_ready()
    try:
        assert fetch(gateway.ports["web"], "/metrics")[0] == 401
        assert fetch(gateway.ports["web"], "/metrics", token="wrong")[0] == 401
        assert fetch(gateway.ports["web"], "/metrics", token="s3cret-token")[0] == 200
    finally:
        gateway.stop()
