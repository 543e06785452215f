"""Reliability suite fixtures: no server process outlives its test; a figures recorder
(printed at the end of the run, saved to test-artifacts/reliability-figures.json)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from .support import Gateway

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability-figures.json"


class Figures:
    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self._lock = threading.Lock()

    def record(self, name: str, **values: object) -> None:
        with self._lock:
            self.rows[name] = values


_FIGURES = Figures()


@pytest.fixture(autouse=True)
def _kill_leftover_gateways():
    """Whatever happened in the test, no `gateway serve` it started outlives it."""
    yield
    for gateway in list(Gateway.started):
        if not gateway.shared:
            if gateway.alive():
                gateway.kill9()
            Gateway.started.remove(gateway)


@pytest.fixture(autouse=True, scope="session")
def _kill_every_gateway_at_the_end():
    yield
    for gateway in Gateway.started:
        if gateway.alive():
            gateway.kill9()


@pytest.fixture
def figures() -> Figures:
    return _FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES.rows:
        return
    terminalreporter.section("reliability figures")
    for name, values in _FIGURES.rows.items():
        detail = ", ".join(f"{k}={v}" for k, v in values.items())
        terminalreporter.write_line(f"{name}: {detail}")
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(_FIGURES.rows, indent=2, default=str) + "\n")
