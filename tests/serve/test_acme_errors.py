"""Rate-limit (429) and server-error (500) answers from the CA: the gateway backs off
(doubling, capped, jittered), keeps serving its working certificate, and recovers.

pebble cannot be made to answer these, so a small front (tests/support/acme.py) serves
pebble's own directory, or a hostile one, as the test says; everything else is pebble.
"""

from __future__ import annotations

import pytest

from storage.acme_status import AcmeStatus, live_pem, read_status
from tests.support.acme import (
    FAST_RENEWAL,
    FaultyFront,
    acme_env,
    imaps_certificate,
    wait_status,
)
from tests.support.pebble import start_pebble
from tests.support.ports import free_port

from .conftest import GatewayProcess
from .test_acme import LISTENERS, metrics

pytestmark = pytest.mark.external
RETRY_MIN, RETRY_MAX = 1.0, 4.0


@pytest.fixture
def pebble(tmp_path):
    server = start_pebble(tmp_path / "pebble", http_port=free_port())
    yield server
    server.stop()


@pytest.fixture
def front(pebble):
    server = FaultyFront(pebble)
    yield server
    server.stop()


def watch_failures(data_dir, up_to: int) -> list[AcmeStatus]:
    """Each status with a new failure count, until `up_to` failures in a row."""
    seen: list[AcmeStatus] = []
    while not seen or seen[-1].failures < up_to:
        last = seen[-1].failures if seen else 0
        seen.append(wait_status(data_dir, lambda s, last=last: s.failures > last, timeout=60))
    return seen


def test_rate_limit_and_server_errors_back_off_and_keep_the_certificate(
    pebble, front, gateway_data
):
    imaps = free_port()
    env = acme_env(pebble, imaps_port=str(imaps), GATEWAY_TLS__ACME_RENEW_FRACTION=FAST_RENEWAL)
    env |= {
        "GATEWAY_TLS__ACME_DIRECTORY": front.url,
        "GATEWAY_TLS__ACME_RETRY_MIN": str(RETRY_MIN),
        "GATEWAY_TLS__ACME_RETRY_MAX": str(RETRY_MAX),
    }
    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready(LISTENERS)
    working = wait_status(gateway_data, lambda s: bool(s.sha256)).sha256
    front.mode = "order429"
    limited = watch_failures(gateway_data, up_to=4)
    working_pem = live_pem(gateway_data).read_bytes()
    assert "too many new orders recently" in limited[-1].last_error
    assert "rateLimited" in limited[-1].last_error
    for status in limited:  # waits of [half, all] of min * 2^(n-1), capped at max
        ceiling = min(RETRY_MAX, RETRY_MIN * 2 ** (status.failures - 1))
        wait = status.next_attempt - status.last_attempt
        assert ceiling / 2 - 0.5 <= wait <= ceiling + 0.5, (status.failures, wait)
    trust = pebble.trust()
    served = imaps_certificate(imaps, trust)
    assert served == read_status(gateway_data).sha256  # the working one, not a new one

    front.mode = "dir500"
    broken = wait_status(gateway_data, lambda s: "serverInternal" in s.last_error)
    assert "the CA is having a bad day" in broken.last_error
    assert live_pem(gateway_data).read_bytes() == working_pem
    assert imaps_certificate(imaps, trust) == served
    found = metrics(gateway.ports["web"], gateway_data, trust)
    assert found[("journal_gateway_acme_renewals_total", (("result", "failure"),))] >= 5
    assert found[("journal_gateway_acme_next_retry_timestamp_seconds", ())] > 0

    front.mode = "pass"  # the CA is back: the next attempt succeeds, the count resets
    recovered = wait_status(gateway_data, lambda s: s.failures == 0 and s.sha256 != served)
    assert recovered.last_error == "" and recovered.sha256 != working
    assert imaps_certificate(imaps, trust) != served
    assert any(hit.startswith("order429 POST /new-order") for hit in front.hits)
    assert gateway.stop() == 0
