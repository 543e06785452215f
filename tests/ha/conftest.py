"""Fixtures of the high-availability suite (tests/support/ha.py): two nodes on PostgreSQL
and SeaweedFS behind HAProxy; a figures recorder, printed at the end of the run as
"high-availability figures" and saved to test-artifacts/ha-figures.json.

No gateway, HAProxy, PostgreSQL or SeaweedFS a test starts or stops outlives it in that
state: nodes and HAProxy are stopped by PID, and a stopped PostgreSQL or SeaweedFS (a
fault test) is started again for the next test.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.serve.conftest import no_leaked_gateways  # noqa: F401 (autouse, re-exported)
from tests.support.ha import Cluster
from tests.support.postgres import PostgresServer
from tests.support.seaweed import S3Target, SeaweedS3

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "ha-figures.json"


class Figures:
    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self._lock = threading.Lock()

    def record(self, name: str, **values: object) -> None:
        with self._lock:
            self.rows[name] = values


_FIGURES = Figures()


@pytest.fixture
def figures() -> Figures:
    return _FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES.rows:
        return
    terminalreporter.section("high-availability figures")
    for name, values in _FIGURES.rows.items():
        detail = ", ".join(f"{k}={v}" for k, v in values.items())
        terminalreporter.write_line(f"{name}: {detail}")
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(_FIGURES.rows, indent=2, default=str) + "\n")


@pytest.fixture
def gateway_data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cluster(
    tmp_path: Path,
    postgres_server: PostgresServer,
    postgres_dsn: str,
    seaweed_s3: SeaweedS3,
    s3_target: S3Target,
):
    """Configured, not started: the test makes its mailboxes, then calls start()."""
    nodes = Cluster.configure(tmp_path / "ha", postgres_server, postgres_dsn, seaweed_s3, s3_target)
    try:
        yield nodes
    finally:
        nodes.stop()
        if not postgres_server.running():
            postgres_server.start()
        if not seaweed_s3.running():
            seaweed_s3.start()
