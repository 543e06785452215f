"""`gateway` (CLI and serve) with storage.index = a PostgreSQL URL, against a real one."""

from __future__ import annotations

import base64
import imaplib
import json
import os
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.postgres import ROLE, PostgresServer

from .conftest import FAST_ARGON, GATEWAY, GatewayProcess, insecure_tls
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


def test_imap_idle_on_one_node_sees_mail_delivered_to_the_other_at_once(
    postgres_dsn: str, tmp_path: Path
) -> None:
    """Two nodes (own data directories) on one PostgreSQL index; IDLE polls only every
    60 s here, so an EXISTS within seconds is the NOTIFY's doing."""
    env = {
        "GATEWAY_STORAGE__INDEX": postgres_dsn,
        "GATEWAY_IMAP__IDLE_POLL_INTERVAL": "60",
        "GATEWAY_SECRETS__SEAL_KEY": base64.b64encode(os.urandom(32)).decode(),  # one per site
    }
    assert run(tmp_path / "a", env, "domain", "add", "example.test").returncode == 0
    mailbox = json.loads(
        run(tmp_path / "a", env, "mailbox", "create", "--domain", "example.test", "--json").stdout
    )
    node_a, node_b = (
        GatewayProcess(tmp_path / "a", env=env),
        GatewayProcess(tmp_path / "b", env=env),
    )
    node_a.wait_ready()
    node_b.wait_ready()
    try:
        waited = idle_sees_mail_sent_to_the_other_node(node_a, node_b, mailbox)
    finally:
        assert node_a.stop() == 0 and node_b.stop() == 0
    assert waited < 10  # far below the 60 s poll


def idle_sees_mail_sent_to_the_other_node(
    node_a: GatewayProcess, node_b: GatewayProcess, mailbox: dict
) -> float:
    """IMAP IDLE on node A, MESSAGE sent through node B: seconds until A says EXISTS."""
    imap = imaplib.IMAP4("127.0.0.1", node_a.ports["imap"], timeout=30)
    imap.starttls(ssl_context=insecure_tls())
    imap.login(mailbox["id"], mailbox["passphrase"])
    imap.select("INBOX")
    imap.send(b"i1 IDLE\r\n")
    assert imap.readline() == b"+ idling\r\n"
    started = time.monotonic()
    send(node_b.ports["smtp"], mailbox["address"], MESSAGE)
    assert imap.readline() == b"* 1 EXISTS\r\n"
    waited = time.monotonic() - started
    imap.send(b"DONE\r\n")
    assert imap.readline().endswith(b" OK IDLE terminated\r\n")
    imap.logout()
    return waited
