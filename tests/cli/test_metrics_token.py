"""`gateway metrics token`: print the /metrics bearer token (the one `serve` uses)."""

from __future__ import annotations

import json
import os

from storage import open_store

from .conftest import failed, ok


def test_prints_the_generated_token_and_makes_it_once(run, data_dir):
    first = ok(run("metrics", "token"))
    token = first.stdout.strip()
    assert first.stdout == token + "\n" and len(token) >= 32
    path = data_dir / "secrets" / "metrics-token"
    assert path.read_text().strip() == token
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert ok(run("metrics", "token")).stdout.strip() == token
    document = json.loads(ok(run("metrics", "token", "--json")).stdout)
    assert document == {"token": token, "source": str(path)}
    store = open_store(data_dir)
    try:
        entries = [e for e in store.audit.list() if e.action == "metrics.token-reveal"]
    finally:
        store.close()
    assert len(entries) == 3 and all(token not in e.detail for e in entries)
    assert entries[0].actor == "cli"


def test_the_configured_token_and_file_come_first(run, data_dir, tmp_path):
    shared = tmp_path / "shared"
    shared.write_text("shared-node-token-0123456789\n")
    env = {"GATEWAY_WEB__METRICS_TOKEN_FILE": str(shared)}
    document = json.loads(ok(run("metrics", "token", "--json", env=env)).stdout)
    assert document == {"token": "shared-node-token-0123456789", "source": str(shared)}
    env["GATEWAY_WEB__METRICS_TOKEN"] = "configured-token-0123456789"
    document = json.loads(ok(run("metrics", "token", "--json", env=env)).stdout)
    assert document == {"token": "configured-token-0123456789", "source": "web.metrics_token"}
    assert not (data_dir / "secrets" / "metrics-token").exists()


def test_an_unusable_token_file_is_a_clear_error(run, tmp_path):
    unreadable = tmp_path / "unreadable"
    unreadable.write_text("x" * 40)
    os.chmod(unreadable, 0)
    control = tmp_path / "control"
    control.write_text("token-with\x07bell-0123456789")
    cases = [
        (tmp_path / "missing", "cannot read"),
        (control, "printable"),
    ]
    if os.geteuid() != 0:  # root reads any file
        cases.append((unreadable, "cannot read"))
    for path, reason in cases:
        result = run("metrics", "token", env={"GATEWAY_WEB__METRICS_TOKEN_FILE": str(path)})
        stderr = failed(result, "web.metrics_token_file", str(path), reason)
        assert "bell" not in stderr and result.stdout == ""


def test_a_configured_token_with_a_space_is_refused(run):
    result = run("metrics", "token", env={"GATEWAY_WEB__METRICS_TOKEN": "two words"})
    stderr = failed(result, "web.metrics_token", "printable")
    assert "two words" not in stderr
