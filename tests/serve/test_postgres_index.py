"""`gateway` (CLI and serve) with storage.index = a PostgreSQL URL, against a real one."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
from pathlib import Path

import pytest

from tests.support.postgres import ROLE, PostgresServer

from .conftest import FAST_ARGON, GATEWAY, GatewayProcess
from .test_serve import MESSAGE, retrieve_all, send, strip_trace

pytestmark = pytest.mark.external


def run(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GATEWAY, "--data", str(data_dir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **FAST_ARGON, **env},
        timeout=60,
        check=False,
    )


def test_cli_and_serve_keep_everything_in_postgresql(postgres_dsn: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"GATEWAY_STORAGE__INDEX": postgres_dsn}
    assert run(data, env, "domain", "add", "example.test").returncode == 0
    created = run(data, env, "mailbox", "create", "--domain", "example.test", "--json")
    assert created.returncode == 0, created.stderr
    mailbox = json.loads(created.stdout)
    gateway = GatewayProcess(data, env=env)
    gateway.wait_ready()
    try:
        send(gateway.ports["smtp"], mailbox["address"], MESSAGE)
        (retrieved,) = retrieve_all(gateway.ports["pop3"], mailbox["id"], mailbox["passphrase"])
    finally:
        assert gateway.stop() == 0
    assert strip_trace(retrieved).replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n")
    assert not (data / "gateway.db").exists()  # the index is not on this node
    listed = run(data, env, "mailbox", "list", "--json")
    assert [m["messages"] for m in json.loads(listed.stdout)] == [1]  # RETR keeps it
    # Another node (another data directory) sees the same mailbox.
    other = run(tmp_path / "other", env, "mailbox", "show", mailbox["id"], "--json")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["id"] == mailbox["id"]


def test_a_password_file_opens_the_index_and_no_password_is_ever_shown(
    postgres_server: PostgresServer, postgres_dsn: str, tmp_path: Path
) -> None:
    without_passfile = postgres_dsn.split("?", 1)[0]
    secret = tmp_path / "index-password"
    secret.write_text(postgres_server.password + "\n")
    secret.chmod(0o600)
    data = tmp_path / "data"
    env = {
        "GATEWAY_STORAGE__INDEX": without_passfile,
        "GATEWAY_STORAGE__INDEX_PASSWORD_FILE": str(secret),
    }
    added = run(data, env, "domain", "add", "example.test")
    assert added.returncode == 0, added.stderr
    # The password inside the URL (environment): masked by config show.
    host = without_passfile.split("@", 1)[1]
    with_password = f"postgresql://{ROLE}:{postgres_server.password}@{host}"
    shown = run(data, {"GATEWAY_STORAGE__INDEX": with_password}, "config", "show")
    assert shown.returncode == 0, shown.stderr
    assert postgres_server.password not in shown.stdout + shown.stderr
    assert f"{ROLE}:***@" in shown.stdout
    listed = run(data, {"GATEWAY_STORAGE__INDEX": with_password}, "domain", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "example.test" in listed.stdout


def test_a_wrong_password_or_a_bad_url_is_a_clear_error_without_the_secret(
    postgres_dsn: str, tmp_path: Path
) -> None:
    host = postgres_dsn.split("?", 1)[0].split("@", 1)[1]
    wrong = f"postgresql://{ROLE}:not-the-password-1234@{host}"
    failed = run(tmp_path / "data", {"GATEWAY_STORAGE__INDEX": wrong}, "domain", "list")
    assert failed.returncode == 1
    assert "not-the-password-1234" not in failed.stdout + failed.stderr
    assert "index" in failed.stderr and "Traceback" not in failed.stderr
    bad = run(
        tmp_path / "data", {"GATEWAY_STORAGE__INDEX": "mysql://x:pw-9@h/db"}, "domain", "list"
    )
    assert bad.returncode != 0
    assert "storage.index" in bad.stderr and "pw-9" not in bad.stderr


def test_while_postgresql_is_down_smtp_answers_4xx_and_recovers_without_a_restart(
    postgres_server: PostgresServer, postgres_dsn: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = {"GATEWAY_STORAGE__INDEX": postgres_dsn}
    assert run(data, env, "domain", "add", "example.test").returncode == 0
    mailbox = json.loads(
        run(data, env, "mailbox", "create", "--domain", "example.test", "--json").stdout
    )
    gateway = GatewayProcess(data, env=env)
    gateway.wait_ready()
    try:
        send(gateway.ports["smtp"], mailbox["address"], MESSAGE)
        postgres_server.stop()
        try:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                send(gateway.ports["smtp"], mailbox["address"], MESSAGE)
            ((code, _text),) = refused.value.recipients.values()
            assert 400 <= code < 500  # the sender keeps the message and retries
        finally:
            postgres_server.start()
        send(gateway.ports["smtp"], mailbox["address"], MESSAGE)  # same process, recovered
        retrieved = retrieve_all(gateway.ports["pop3"], mailbox["id"], mailbox["passphrase"])
    finally:
        assert gateway.stop() == 0
    assert len(retrieved) == 2
    assert postgres_server.password not in "\n".join(gateway.stdout + gateway.stderr)
