"""Fixtures of the high-availability suite: no gateway, PostgreSQL, SeaweedFS or HAProxy
a test starts outlives it (each is stopped by its own PID)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.conftest import no_leaked_gateways  # noqa: F401 (autouse, re-exported)


@pytest.fixture
def gateway_data(tmp_path: Path) -> Path:
    return tmp_path / "data"
