"""Several processes on one data directory: what a single process kept in memory holds
across them (POP3 [IN-USE], IMAP IDLE, /metrics), and the supervisor restarts a worker
that died without losing acknowledged mail."""

from __future__ import annotations

import os
import poplib
import signal
import smtplib
import socket
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import GatewayProcess, cli, insecure_tls
from .test_observability import fetch
from .test_serve import MESSAGE, retrieve_all, send, strip_trace

SHORT_LOCK = {"GATEWAY_POP3__LOCK_TTL": "2"}


def pop3_login(port: int, user: str, passphrase: str) -> poplib.POP3:
    client = poplib.POP3("127.0.0.1", port, timeout=30)
    client.stls(context=insecure_tls())
    client.user(user)
    client.pass_(passphrase)
    return client


def login_reply(port: int, user: str, passphrase: str) -> str:
    """The reply to PASS: "+OK ..." (then QUIT) or the -ERR line."""
    try:
        client = pop3_login(port, user, passphrase)
    except poplib.error_proto as exc:
        return exc.args[0].decode()
    client.quit()
    return "+OK"


def worker_pids(parent: int) -> set[int]:
    """The parent's spawned worker processes (not multiprocessing's helpers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def wait_for(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_pop3_in_use_holds_across_processes_and_a_killed_holders_lock_expires(
    gateway_data, mailbox_on_disk
):
    user, passphrase = mailbox_on_disk["address"], mailbox_on_disk["passphrase"]
    holder = GatewayProcess(gateway_data, env=SHORT_LOCK)
    holder.wait_ready()
    other = GatewayProcess(gateway_data, env=SHORT_LOCK)
    other.wait_ready()
    try:
        session = pop3_login(holder.ports["pop3"], user, passphrase)
        time.sleep(2.5)  # past one ttl: the session's renewals keep the lock
        reply = login_reply(other.ports["pop3"], user, passphrase)
        assert reply == "-ERR [IN-USE] mailbox is locked by another POP3 session"
        holder.proc.kill()  # SIGKILL: no release, no renewal any more
        holder.proc.wait()
        session.sock.close()
        killed = time.monotonic()
        wait_for(
            lambda: login_reply(other.ports["pop3"], user, passphrase) == "+OK",
            timeout=15,
            what="the dead holder's lock to expire",
        )
        assert time.monotonic() - killed < 10
        # The lock is a session's, not a process's: released at QUIT, free at once.
        assert login_reply(other.ports["pop3"], user, passphrase) == "+OK"
    finally:
        assert other.stop() == 0


class IdleClient:
    """IMAP over STARTTLS, logged in with INBOX selected, then IDLE (raw lines)."""

    def __init__(self, port: int, user: str, passphrase: str) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.file = raw.makefile("rb")
        self.read_until(b"* OK")
        raw.sendall(b"a1 STARTTLS\r\n")
        self.read_until(b"a1 OK")
        self.sock = insecure_tls().wrap_socket(raw)
        self.file = self.sock.makefile("rb")
        self.command(b'a2 LOGIN "%s" "%s"' % (user.encode(), passphrase.encode()), b"a2 OK")
        self.command(b"a3 SELECT INBOX", b"a3 OK")
        self.command(b"a4 IDLE", b"+ ")

    def close(self) -> None:
        self.file.close()  # the socket stays open while a file made from it is
        self.sock.close()

    def command(self, line: bytes, until: bytes) -> list[bytes]:
        self.sock.sendall(line + b"\r\n")
        return self.read_until(until)

    def read_until(self, prefix: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.file.readline()
            assert line, f"connection closed before {prefix!r}: {lines}"
            lines.append(line)
            if line.startswith(prefix):
                return lines


def test_idle_sees_mail_and_expunges_committed_by_another_process(gateway_data, mailbox_on_disk):
    user, passphrase = mailbox_on_disk["address"], mailbox_on_disk["passphrase"]
    idler = GatewayProcess(gateway_data)
    idler.wait_ready()
    other = GatewayProcess(gateway_data)
    other.wait_ready()
    try:
        client = IdleClient(idler.ports["imap"], user, passphrase)
        sent = time.monotonic()
        send(other.ports["smtp"], user, MESSAGE)
        assert client.read_until(b"* ")[-1] == b"* 1 EXISTS\r\n"
        assert time.monotonic() - sent < 5  # imap.idle_poll_interval is 1 s
        pop3 = pop3_login(other.ports["pop3"], user, passphrase)
        pop3.dele(1)
        pop3.quit()
        assert client.read_until(b"* ")[-1] == b"* 1 EXPUNGE\r\n"
        client.sock.sendall(b"DONE\r\n")
        assert client.read_until(b"a4 ")[-1].startswith(b"a4 OK")
        client.close()
    finally:
        assert other.stop() == 0
        code = idler.stop()
        assert code == 0, idler.stderr[-30:]


def test_a_killed_worker_is_restarted_and_no_acknowledged_mail_is_lost(
    gateway_data, mailbox_on_disk
):
    user, passphrase = mailbox_on_disk["address"], mailbox_on_disk["passphrase"]
    gateway = GatewayProcess(gateway_data, extra_args=["--workers", "2"])
    gateway.wait_ready(listeners=8)
    try:
        first = wait_for(lambda: worker_pids(gateway.proc.pid), what="the workers")
        assert len(first) == 2
        bodies = [MESSAGE.replace(b"serve test", f"n{i}".encode()) for i in range(10)]
        for body in bodies[:5]:
            send(gateway.ports["smtp"], user, body)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        for body in bodies[5:]:  # the survivor answers meanwhile
            send_as_an_mta_would(gateway.ports["smtp"], user, body)

        def replaced() -> set[int] | None:
            pids = worker_pids(gateway.proc.pid)
            return pids if len(pids) == 2 and pids != first else None

        after = wait_for(replaced, what="a new worker")
        assert victim not in after and len(after - first) == 1
        got = retrieve_all(gateway.ports["pop3"], user, passphrase)
    finally:
        assert gateway.stop() == 0
    assert sorted(strip_trace(m) for m in got) == sorted(bodies)
    assert any("restarting it" in line for line in gateway.stderr), gateway.stderr[-10:]
    assert worker_pids(gateway.proc.pid) == set()


def send_as_an_mta_would(port: int, user: str, body: bytes, attempts: int = 20) -> None:
    """Send, retrying a connection that broke before the message was acknowledged: one
    the killed worker had accepted just before it died breaks, and a sender retries it
    (nothing was acknowledged, so nothing can be lost). Connections still waiting in the
    shared accept queue go to the survivor."""
    for _ in range(attempts - 1):
        try:
            return send(port, user, body)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            time.sleep(0.2)
    send(port, user, body)


def test_metrics_sum_the_counters_of_every_worker(gateway_data, mailbox_on_disk):
    gateway = GatewayProcess(gateway_data, extra_args=["--workers", "2"])
    gateway.wait_ready(listeners=8)
    try:
        for _ in range(20):  # one after another: the least loaded worker takes each
            with smtplib.SMTP("127.0.0.1", gateway.ports["smtp"], timeout=30) as client:
                client.noop()
        token = (gateway_data / "secrets" / "metrics-token").read_text().strip()
        for _ in range(6):  # whichever worker answers, it reports the sum
            status, text = fetch(gateway.ports["web"], "/metrics", token=token)
            assert status == 200
            values = {
                s.name: s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
                if not s.labels
            }
            assert values["journal_gateway_smtp_connections_total"] == 20
            assert "journal_gateway_disk_free_bytes" in values  # scrape-time gauges still there
    finally:
        assert gateway.stop() == 0


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="auto means one process on one core")
def test_by_default_serve_runs_one_worker_per_core(gateway_data, mailbox_on_disk):
    gateway = GatewayProcess(gateway_data, env={"GATEWAY_SERVE__WORKERS": "auto"})
    cores = min(os.cpu_count() or 1, 64)
    gateway.wait_ready(listeners=4 * cores)
    try:
        workers = {line.split(":")[0] for line in gateway.stdout if line.startswith("worker")}
        assert workers == {f"worker {i}" for i in range(cores)}
        assert len(worker_pids(gateway.proc.pid)) == cores
    finally:
        assert gateway.stop() == 0


@pytest.mark.parametrize("value", ["0", "65", "many"])
def test_a_bad_worker_count_is_refused_before_anything_starts(gateway_data, value):
    result = cli(gateway_data, "serve", "--workers", value)
    assert result.returncode == 1
    assert "serve.workers" in result.stderr and "expected auto or a number" in result.stderr
    assert "listening" not in result.stdout


def test_a_stop_while_a_dead_worker_waits_for_its_restart_is_clean(gateway_data, mailbox_on_disk):
    """The dead worker was logged and is not what the stop is about: exit status 0."""
    gateway = GatewayProcess(gateway_data, extra_args=["--workers", "2"])
    gateway.wait_ready(listeners=8)
    try:
        first = wait_for(lambda: worker_pids(gateway.proc.pid), what="the workers")
        os.kill(min(first), signal.SIGKILL)
        wait_for(
            lambda: any("restarting it" in line for line in gateway.stderr) or None,
            what="the parent to notice the death",
        )
    finally:
        assert gateway.stop() == 0, gateway.stderr[-10:]
    assert worker_pids(gateway.proc.pid) == set()
