"""How `gateway serve --workers N` spreads connections: one accept queue per port that
every worker takes from (gateway/listeners.py), not SO_REUSEPORT's hash of the client's
address, so a stalled worker strands nothing and long-lived connections are balanced."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
from contextlib import ExitStack

from .conftest import GatewayProcess, cli, insecure_tls
from .test_observability import fetch, samples
from .test_serve import MESSAGE, send
from .test_workers import wait_for, worker_pids

GREETING_TIMEOUT = 10  # seconds: a greeting the machine's load cannot explain away


def two_workers(gateway_data) -> GatewayProcess:
    gateway = GatewayProcess(gateway_data, extra_args=["--workers", "2"])
    gateway.wait_ready(listeners=8)
    return gateway


def greeted(port: int, stack: ExitStack) -> smtplib.SMTP:
    """An SMTP session that got its 220 greeting and answered EHLO, held open."""
    client = smtplib.SMTP("127.0.0.1", port, timeout=GREETING_TIMEOUT)
    stack.callback(client.close)
    assert client.ehlo()[0] == 250
    return client


def smtp_accepts_by_worker(gateway: GatewayProcess, gateway_data) -> dict[str, float]:
    """journal_gateway_worker_connections_total{listener="smtp"} per worker index."""
    token = (gateway_data / "secrets" / "metrics-token").read_text().strip()
    status, text = fetch(gateway.ports["web"], "/metrics", token=token)
    assert status == 200
    return {
        dict(labels)["worker"]: value
        for (name, labels), value in samples(text).items()
        if name == "journal_gateway_worker_connections_total" and dict(labels)["listener"] == "smtp"
    }


def test_a_stalled_worker_leaves_every_new_connection_to_the_other(gateway_data, mailbox_on_disk):
    """With SO_REUSEPORT the kernel queued about half of these on the stopped worker's
    socket, where they waited without a greeting for as long as it stayed stopped."""
    gateway = two_workers(gateway_data)
    stalled = min(wait_for(lambda: worker_pids(gateway.proc.pid), what="the workers"))
    os.kill(stalled, signal.SIGSTOP)  # a worker whose event loop does not come back
    try:
        with ExitStack() as stack:
            sessions = [greeted(gateway.ports["smtp"], stack) for _ in range(8)]
            assert len(sessions) == 8
        send(gateway.ports["smtp"], mailbox_on_disk["address"], MESSAGE)
    finally:
        os.kill(stalled, signal.SIGCONT)
        assert gateway.stop() == 0


def test_long_lived_connections_are_spread_over_both_workers(gateway_data, mailbox_on_disk):
    """8 sessions opened one after another from one address, all held open: the worker
    holding more leaves the next one to the other (SO_REUSEPORT split them by a hash
    of the client port: 6:2 or worse in 29 % of runs, 8:0 in 1 %)."""
    gateway = two_workers(gateway_data)
    try:
        with ExitStack() as stack:
            for _ in range(8):
                greeted(gateway.ports["smtp"], stack)
            split = smtp_accepts_by_worker(gateway, gateway_data)
        assert sum(split.values()) == 8, split
        assert set(split) == {"0", "1"}, split
        # 4:4, or 5:3 / 6:2 when a worker was slow to take its turn (a loaded machine);
        # the SIGSTOP test below shows the mechanism itself deterministically.
        assert min(split.values()) >= 2, split
    finally:
        assert gateway.stop() == 0


def test_a_restarted_worker_accepts_on_the_same_sockets(gateway_data, mailbox_on_disk):
    gateway = two_workers(gateway_data)
    try:
        first = wait_for(lambda: worker_pids(gateway.proc.pid), what="the workers")
        victim, survivor = sorted(first)
        os.kill(victim, signal.SIGKILL)

        def replacement() -> set[int] | None:
            new = worker_pids(gateway.proc.pid) - first
            return new or None

        wait_for(replacement, what="a new worker")
        wait_for(
            lambda: sum("smtp listening" in line for line in gateway.stdout) >= 3,
            what="the new worker's listeners",
        )
        os.kill(survivor, signal.SIGSTOP)  # only the new worker can answer now
        try:
            with ExitStack() as stack:
                for _ in range(4):
                    greeted(gateway.ports["smtp"], stack)
        finally:
            os.kill(survivor, signal.SIGCONT)
    finally:
        assert gateway.stop() == 0


def test_workers_on_port_0_share_the_port_the_kernel_picked(gateway_data, mailbox_on_disk):
    zero = [f"--{name}=127.0.0.1:0" for name in ("smtp", "pop3", "imap", "web")]
    gateway = GatewayProcess(gateway_data, extra_args=[*zero, "--workers", "2"])
    gateway.wait_ready(listeners=8)
    try:
        bound = {}
        for line in gateway.stdout:
            found = re.match(r"worker (\d): (\w+) listening on 127\.0\.0\.1:(\d+)$", line)
            if found:
                bound.setdefault(found[2], set()).add(int(found[3]))
        assert set(bound) == {"smtp", "pop3", "imap"}
        assert all(len(ports) == 1 and 0 not in ports for ports in bound.values()), bound
        (smtp_port,) = bound["smtp"]
        send(smtp_port, mailbox_on_disk["address"], MESSAGE)
    finally:
        assert gateway.stop() == 0


def test_a_port_in_use_is_refused_before_any_worker_starts(gateway_data, mailbox_on_disk):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(gateway_data, "serve", "--workers", "2", f"--smtp=127.0.0.1:{port}", "--web=")
    assert result.returncode == 1
    assert f"cannot listen: smtp.listen = '127.0.0.1:{port}'" in result.stderr
    assert "Address already in use" in result.stderr
    assert "listening" not in result.stdout


def test_tls_listeners_work_on_shared_sockets(gateway_data, mailbox_on_disk):
    smtps = socket.socket()
    smtps.bind(("127.0.0.1", 0))
    port = smtps.getsockname()[1]
    smtps.close()
    gateway = GatewayProcess(
        gateway_data, extra_args=["--workers", "2", f"--smtps=127.0.0.1:{port}"]
    )
    gateway.wait_ready(listeners=10)
    try:
        for _ in range(4):
            with smtplib.SMTP_SSL("127.0.0.1", port, context=insecure_tls(), timeout=30) as c:
                c.sendmail("sender@example.org", [mailbox_on_disk["address"]], MESSAGE)
    finally:
        assert gateway.stop() == 0
