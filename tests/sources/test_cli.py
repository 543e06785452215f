"""The `gateway source` CLI contract against the test Dovecot, and kill -9 of the real
`gateway source run` process between the local commit and the delete at the source."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import as_json, failed, ok
from tests.support.argon import FAST_ENV

from .test_fetch import crlf, message, split_trace, stored

SCRIPT = Path(sys.executable).parent / "gateway"


@pytest.fixture
def password_file(tmp_path, account) -> Path:
    path = tmp_path / "source-password"
    path.write_text(account.password + "\n")
    path.chmod(0o600)
    return path


def add_args(mailbox, account, password_file, ca_pem, *extra: str) -> list[str]:
    return [
        "source", "add", mailbox[0].address, "--name", "info", "--protocol", "pop3",
        "--host", "127.0.0.1", "--port", str(account.server.ports["pop3s"]),
        "--ca-file", str(ca_pem), "--user", account.user, "--password-file", str(password_file),
        *extra,
    ]  # fmt: skip


def test_add_list_show_run_remove(run, store, mailbox, account, password_file, ca_pem):
    account.put(message(1))
    added = as_json(run(*add_args(mailbox, account, password_file, ca_pem, "--json")))
    assert added["mailbox"] == mailbox[0].id and added["protocol"] == "pop3"
    assert (added["tls"], added["keep"], added["interval"], added["active"]) == (
        "implicit", False, 300, True
    )  # fmt: skip
    listed = as_json(run("source", "list", mailbox[0].id, "--json"))
    assert [s["id"] for s in listed] == [added["id"]]
    shown = ok(run("source", "show", added["id"])).stdout
    assert "pop3 127.0.0.1" in shown and "never" in shown
    counts = as_json(run("source", "run", added["id"], "--json"))
    assert (counts["fetched"], counts["deleted"], counts["failed"]) == (1, 1, False)
    assert account.remaining() == []
    assert [split_trace(g)[1] for g in stored(store, mailbox)] == [crlf(message(1))]
    ok(run("source", "update", added["id"], "--keep", "--interval", "60", "--comment", "info@"))
    updated = as_json(run("source", "show", added["id"], "--json"))
    assert (updated["keep"], updated["interval"], updated["comment"]) == (True, 60, "info@")
    ok(run("source", "remove", added["id"]))
    assert as_json(run("source", "list", "--json")) == []
    everything = " ".join(f"{e.action} {e.target} {e.detail}" for e in store.audit.list())
    for name in ("source.add", "source.run", "source.update", "source.remove"):
        assert name in everything
    assert account.password not in everything
    assert "fetched=1 skipped=0 deleted=1" in everything


def test_tls_none_is_refused_without_insecure(run, mailbox, account, password_file, ca_pem):
    args = add_args(mailbox, account, password_file, ca_pem, "--tls", "none")
    failed(run(*args), "TLS mode none sends the password in clear")
    assert as_json(run("source", "list", "--json")) == []
    ok(run(*args, "--insecure"))


def test_credentials_only_from_files(run, mailbox, account, password_file, ca_pem, data_dir):
    args = add_args(mailbox, account, password_file, ca_pem)
    without = [a for a in args if a not in ("--password-file", str(password_file))]
    failed(run(*without), "--password-file", code=2)
    failed(run(*without, "--password", account.password), code=2)
    ok(run(*args))
    for name in ("gateway.db", "gateway.db-wal"):
        path = data_dir / name
        assert not path.exists() or account.password.encode() not in path.read_bytes()


def test_a_failed_run_exits_1_and_the_source_shows_failing(run, mailbox, account, tmp_path, ca_pem):
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    added = as_json(run(*add_args(mailbox, account, wrong, ca_pem, "--json")))
    failed(run("source", "run", added["id"]), "refused the login")
    listed = ok(run("source", "list")).stdout
    assert "FAILING" in listed


def _gateway(data_dir: Path, *args: str, fault: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "JGW_"))}
    env |= {"GATEWAY_DATA": str(data_dir), **FAST_ENV}
    if fault:  # and a short lease, which the killed process then cannot release
        env |= {"JGW_TEST_FAULT": fault, "GATEWAY_FETCH__LEASE_TTL": "1"}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.mark.parametrize("keep", [True, False])
def test_kill_9_between_the_commit_and_the_delete_loses_nothing(
    run, store, mailbox, account, password_file, ca_pem, data_dir, keep
):
    for n in (1, 2):
        account.put(message(n))
    extra = ["--keep"] if keep else []
    source_id = as_json(run(*add_args(mailbox, account, password_file, ca_pem, "--json", *extra)))[
        "id"
    ]
    killed = _gateway(data_dir, "source", "run", source_id, fault="source.committed:1")
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    assert len(stored(store, mailbox)) == 1  # committed before the kill: durable
    assert len(account.remaining()) == 2  # nothing deleted at the source yet
    time.sleep(1.1)  # the dead process's lease runs out
    again = _gateway(data_dir, "source", "run", source_id, "--json")
    assert again.returncode == 0, again.stderr
    counts = json.loads(again.stdout)
    assert counts["fetched"] == 1  # only the one not stored before; never twice
    bodies = sorted(split_trace(g)[1] for g in stored(store, mailbox))
    assert bodies == [crlf(message(1)), crlf(message(2))]
    assert len(account.remaining()) == (2 if keep else 0)
    assert counts["deleted"] == (0 if keep else 2)


def test_a_source_held_by_another_worker_is_not_fetched(
    run, store, mailbox, account, password_file, ca_pem
):
    account.put(message(1))
    source_id = as_json(run(*add_args(mailbox, account, password_file, ca_pem, "--json")))["id"]
    assert store.leases.acquire(f"fetch:{source_id}", "another-worker", 30)
    busy = as_json(run("source", "run", source_id, "--json"))
    assert busy["busy"] and busy["fetched"] == 0
    assert "another process" in ok(run("source", "run", source_id)).stdout
    store.leases.release(f"fetch:{source_id}", "another-worker")
    assert as_json(run("source", "run", source_id, "--json"))["fetched"] == 1


def test_source_test_signs_in_and_lists_without_fetching(
    run, store, mailbox, account, password_file, ca_pem, tmp_path
):
    account.put(message(1))
    added = as_json(run(*add_args(mailbox, account, password_file, ca_pem, "--json")))
    result = ok(run("source", "test", added["id"]))
    assert "Connection and sign-in work: 1 messages at the source" in result.stdout
    checked = as_json(run("source", "test", added["id"], "--json"))
    assert (checked["ok"], checked["messages"], checked["error"]) == (True, 1, "")
    assert len(account.remaining()) == 1 and store.messages.list(mailbox[0].id) == []
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-Password-1\n")
    ok(run("source", "update", added["id"], "--password-file", str(wrong)))
    before = store.sources.get(added["id"])
    failed(run("source", "test", added["id"]), "refused the login")
    assert store.sources.get(added["id"]) == before  # not marked failing, no run recorded
    details = [e.detail for e in store.audit.list() if e.action == "source.check"]
    assert details == ["failed=auth", "ok messages=1", "ok messages=1"]
