"""CLI tests: click's runner (and a few real subprocesses) against a real store on disk.

The root conftest's `store` fixture opens the same data directory the CLI uses, with the
same light Argon2 parameters the CLI gets from FAST_ENV, so a test can seed state and
look at what a command did.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli.main import main
from tests.support.argon import FAST_ENV

Run = Callable[..., Result]


@pytest.fixture
def cli_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment of every CLI run: this test's data directory, light Argon2."""
    for name in ("GATEWAY_CONFIG", "GATEWAY_DATA"):
        monkeypatch.delenv(name, raising=False)
    return {"GATEWAY_DATA": str(data_dir), **FAST_ENV}


@pytest.fixture
def run(cli_env: dict[str, str]) -> Run:
    """run("mailbox", "list", input=..., env=...) -> click Result (stdout/stderr apart)."""

    def invoke(*args: str, input: str | None = None, env: dict | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(main, list(args), input=input, env={**cli_env, **(env or {})})

    return invoke


def ok(result: Result) -> Result:
    """Assert exit 0 and show what went wrong otherwise."""
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def failed(result: Result, *fragments: str, code: int = 1) -> str:
    """Assert the exit code, no traceback, and every fragment in stderr; returns stderr."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    if code == 1:
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), result.exception
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    return result.stderr


def as_json(result: Result) -> object:
    return json.loads(ok(result).stdout)


def snapshot(data_dir: Path) -> dict:
    """Everything a command could change: index rows (any order; not the audit log), blobs."""
    db = data_dir / "gateway.db"
    state: dict = {"rows": [], "files": {}}
    if db.exists():
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            state["rows"] = sorted(
                line
                for line in conn.iterdump()
                if not line.startswith('INSERT INTO "audit"')
                and not line.startswith('DELETE FROM "sqlite_sequence"')
                and 'INSERT INTO "sqlite_sequence"' not in line
            )
        finally:
            conn.close()
    for path in sorted((data_dir / "blobs").rglob("*")) if (data_dir / "blobs").exists() else []:
        if path.is_file():
            state["files"][str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def create_mailbox(
    run: Run, *extra: str, domain: str = "example.test", env: dict | None = None
) -> dict:
    """A mailbox made through the CLI (--json): its contract document."""
    return as_json(run("mailbox", "create", "--domain", domain, "--json", *extra, env=env))


def secret_file(tmp_path: Path, text: str, name: str = "passphrase") -> str:
    path = tmp_path / name
    path.write_text(text + "\n")
    return str(path)
