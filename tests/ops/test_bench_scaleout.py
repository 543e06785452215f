"""The scale-out benchmark's arithmetic and tables (bench/scaleout.py), without servers:
CPU per process kind from /proc, per-message figures, ratios to 1-node SQLite."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import tests.support.postgres as postgres_support
from bench import procs
from bench.report import render
from bench.scaleout import Backing, per_message


def test_cpu_by_kind_counts_a_reaped_childs_cpu_for_its_parent() -> None:
    """A process that ran and exited during a phase (a PostgreSQL backend) still counts."""
    before = procs.cpu_by_kind({"me": [os.getpid()]})["me"]
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    after = procs.cpu_by_kind({"me": [os.getpid()]})["me"]
    assert after - before >= 0.25


def _entry(msgs_per_s: float, gateway_cpu: float, **counters: float) -> dict:
    return {
        "messages": 100,
        "bytes": 100 * 65536,
        "seconds": 100 / msgs_per_s,
        "msgs_per_s": msgs_per_s,
        "mb_per_s": msgs_per_s * 65536 / 1e6,
        "client_cpu_s": 0.1,
        "counters": {"cpu.gateway": gateway_cpu, **counters},
    }


PG = {"pg.commits": 300.0, "pg.wal_bytes": 409600.0, "pg.wal_syncs": 150.0}


def test_the_tables_show_ratios_to_sqlite_cpu_per_message_and_errors() -> None:
    phase = per_message(
        {
            "sqlite": _entry(200.0, 0.3),
            "pg_s3": _entry(100.0, 0.6, **{"cpu.postgres": 0.2, "cpu.weed": 0.2}, **PG),
            "pg_s3_x2": {"error": "ProtocolError: end of DATA: expected 250, got '451'"},
        }
    )
    assert phase["pg_s3"]["cpu_ms_per_msg"] == {"gateway": 6.0, "postgres": 2.0, "weed": 2.0}
    assert phase["pg_s3"]["total_cpu_ms_per_msg"] == 10.0
    index = {"commits": 3.0, "wal_bytes": 4096.0, "wal_syncs": 1.5}
    assert phase["pg_s3"]["index_per_msg"] == index
    assert "index_per_msg" not in phase["sqlite"]
    assert round(phase["pg_s3"]["cores_busy"], 2) == 1.1  # (1.0 + 0.1 client) / 1 s
    results = {"started": "now", "scale": 0.05, "phases": {"scaleout_A": phase}, "notes": []}
    text = render(results)
    assert "| A: msgs/s | 200.0 | 100.0 | error | 0.50× | – |" in text
    assert "| A: postgres | – | 2.00 | error |" in text
    assert "| A: total | 3.00 | 10.00 | error |" in text
    assert "| A: transactions | 3.00 | error |" in text
    assert "| A: WAL bytes | 4096 | error |" in text
    assert "- scaleout_A / pg_s3_x2: ProtocolError: end of DATA: expected 250" in text
    assert "target (DESIGN §8)" not in text  # no main phase ran: no "not run" targets


def test_a_missing_postgresql_becomes_a_reason_not_a_skip(monkeypatch, tmp_path) -> None:
    """The test helpers skip when a server is not installed; the bench notes why instead."""
    monkeypatch.setattr(postgres_support, "BIN", tmp_path / "nowhere")
    backing = Backing(tmp_path / "backing")
    try:
        backing.start()
    except RuntimeError as exc:
        reason = str(exc)
    except BaseException as exc:  # pytest's Skipped/Failed are BaseExceptions
        pytest.fail(f"not turned into a reason: {exc!r}")
    else:
        pytest.fail("started without initdb")
    finally:
        backing.stop()
    assert "initdb missing" in reason
