"""Slowloris and idle clients on every listener are timed out and do not block others.

100 slow sessions at once, 25 per listener (SMTP, POP3, IMAP, web console), of every
kind that holds a connection open without finishing anything: silent after the
greeting, a command line trickled one byte at a time and never ended, a STARTTLS/STLS
whose TLS handshake never comes, a DATA transfer trickled (SMTP), a TLS connection to
the console that sends no request or an unfinished request head. The idle timeouts are
set short through the environment. While all 100 hang, a normal client succeeds on each
listener; then every slow session is closed by the server, and the server holds no more
sockets than before they came.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import pytest

from .support import (
    Gateway,
    Ledger,
    check_retrieved,
    imap_fetch_all,
    insecure_tls,
    make_mailboxes,
    make_message,
    pop3_fetch_all,
    send_one,
    smtp_session,
)

pytestmark = pytest.mark.timeout(120)  # hang detection, not a speed target

IDLE = 5.0  # idle and login timeouts of every listener, for this test
TRANSACTION = 6.0  # smtp.transaction_timeout: bounds a DATA transfer that trickles
HANG_LIMIT = 25.0  # a slow session still open after this is a failure (hang detection)
PER_LISTENER = 25
ENV = {
    "GATEWAY_SMTP__IDLE_TIMEOUT": str(IDLE),
    "GATEWAY_SMTP__TRANSACTION_TIMEOUT": str(TRANSACTION),
    "GATEWAY_POP3__LOGIN_TIMEOUT": str(IDLE),
    "GATEWAY_POP3__IDLE_TIMEOUT": str(IDLE),
    "GATEWAY_IMAP__IDLE_TIMEOUT": str(IDLE),
    "GATEWAY_WEB__IDLE_TIMEOUT": str(IDLE),
    # room for the slow SMTP sessions and one more: the normal client gets the last slot
    "GATEWAY_SMTP__MAX_CONNECTIONS": str(PER_LISTENER + 1),
}

# listener -> kinds of slow session (cycled over PER_LISTENER sessions)
KINDS = {
    "smtp": ["silent", "trickle-command", "stalled-starttls", "trickle-data"],
    "pop3": ["silent", "trickle-command", "stalled-stls"],
    "imap": ["silent", "trickle-command", "stalled-starttls"],
    "web": ["tls-silent", "tls-trickle-request-line", "tls-unfinished-headers"],
}


@dataclass
class Slow:
    listener: str
    kind: str
    connected: threading.Event
    started: float = 0.0
    closed_after: float | None = None
    error: str = ""


def _open(gateway: Gateway, slow: Slow) -> tuple[socket.socket | ssl.SSLSocket, bytes]:
    """Connect and bring the session to the point where it starts to hang."""
    port = getattr(gateway, slow.listener)
    sock: socket.socket | ssl.SSLSocket = socket.create_connection(("127.0.0.1", port), timeout=10)
    kind = slow.kind
    if slow.listener == "web":
        sock = insecure_tls().wrap_socket(sock)
        if kind == "tls-unfinished-headers":
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n")
        elif kind == "tls-trickle-request-line":
            sock.sendall(b"GET /")
        return sock, b"" if kind == "tls-silent" else b"x"
    sock.recv(4096)  # the greeting
    if slow.listener == "smtp" and kind == "stalled-starttls":
        sock.sendall(b"EHLO slow.example.org\r\n")
        _expect(sock, b"250 ")
        sock.sendall(b"STARTTLS\r\n")
        _expect(sock, b"220 ")
    elif slow.listener == "smtp" and kind == "trickle-data":
        sock.sendall(b"EHLO slow.example.org\r\n")
        _expect(sock, b"250 ")
        sock.sendall(b"MAIL FROM:<slow@example.org>\r\n")
        _expect(sock, b"250 ")
        sock.sendall(f"RCPT TO:<{gateway.box.address}>\r\n".encode())
        _expect(sock, b"250 ")
        sock.sendall(b"DATA\r\n")
        _expect(sock, b"354 ")
        sock.sendall(b"Subject: slow\r\n\r\n")
    elif slow.listener == "pop3" and kind == "stalled-stls":
        sock.sendall(b"STLS\r\n")
        _expect(sock, b"+OK")
    elif slow.listener == "imap" and kind == "stalled-starttls":
        sock.sendall(b"a STARTTLS\r\n")
        _expect(sock, b"a OK")
    trickle = {"trickle-command": b"N", "trickle-data": b"x"}.get(kind, b"")
    return sock, trickle


def _expect(sock: socket.socket, what: bytes) -> None:
    data = b""
    while what not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before {what!r}"
        data += chunk


def run_slow(gateway: Gateway, slow: Slow) -> None:
    try:
        sock, trickle = _open(gateway, slow)
    except OSError as exc:
        slow.error = f"connect: {exc!r}"
        slow.connected.set()
        return
    slow.started = time.monotonic()
    slow.connected.set()
    sock.settimeout(0.5)
    try:
        while time.monotonic() - slow.started < HANG_LIMIT:
            if trickle:
                with contextlib.suppress(ssl.SSLWantWriteError):
                    sock.send(trickle)  # one byte, and the line or request never ends
            try:
                if not sock.recv(4096):
                    break  # closed by the server
            except (TimeoutError, ssl.SSLWantReadError):
                continue
        else:
            return  # still open: closed_after stays None
    except (ConnectionError, ssl.SSLError, OSError):
        pass  # reset by the server: closed as well
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    slow.closed_after = time.monotonic() - slow.started


def normal_clients(gateway: Gateway) -> dict[str, str]:
    """One ordinary client per listener, each a complete piece of work."""
    box = gateway.box
    ledger = Ledger()
    client = smtp_session(gateway.smtp)
    message = make_message("normal-1", 5000, random.Random(1))
    assert send_one(client, box, "normal-1", message, ledger) == 250
    client.quit()
    check_retrieved(list(pop3_fetch_all(gateway.pop3, box).values()), ledger, {"normal-1"})
    check_retrieved(list(imap_fetch_all(gateway.imap, box).values()), ledger, {"normal-1"})
    web = http.client.HTTPSConnection("127.0.0.1", gateway.web, timeout=10, context=insecure_tls())
    web.request("GET", "/healthz")
    response = web.getresponse()
    assert response.status == 200
    web.close()
    return {"smtp": "250", "pop3": "retrieved", "imap": "fetched", "web": "200"}


def smtp_greetings(gateway: Gateway, count: int) -> list[bytes]:
    socks = [
        socket.create_connection(("127.0.0.1", gateway.smtp), timeout=10) for _ in range(count)
    ]
    try:
        return [sock.recv(4096)[:3] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def test_slow_and_idle_clients_time_out_and_block_nobody(tmp_path, figures) -> None:
    data = tmp_path / "data"
    (box,) = make_mailboxes(data, 1)
    gateway = Gateway(data, env=ENV)
    gateway.box = box  # type: ignore[attr-defined]
    gateway.wait_ready()
    try:
        time.sleep(0.5)
        sockets_before = gateway.open_sockets()
        slows = [
            Slow(listener, KINDS[listener][n % len(KINDS[listener])], threading.Event())
            for listener in KINDS
            for n in range(PER_LISTENER)
        ]
        threads = [threading.Thread(target=run_slow, args=(gateway, s), daemon=True) for s in slows]
        for thread in threads:
            thread.start()
        for slow in slows:
            assert slow.connected.wait(20), "a slow client could not even connect"
        assert not [s.error for s in slows if s.error]
        sockets_during = gateway.open_sockets()

        # While all of them hang, ordinary clients get through on every listener.
        began = time.monotonic()
        outcome = normal_clients(gateway)
        normal_seconds = time.monotonic() - began
        still_open = sum(s.closed_after is None for s in slows)
        early = [(s.listener, s.kind, s.closed_after) for s in slows if s.closed_after is not None]
        assert still_open == len(slows), f"slow sessions ended before the check could run: {early}"

        for thread in threads:
            thread.join(HANG_LIMIT + 10)
        hung = [(s.listener, s.kind) for s in slows if s.closed_after is None]
        assert not hung, f"never timed out: {sorted(set(hung))}"

        # Their resources are freed: the server holds no more sockets than before.
        deadline = time.monotonic() + 10
        while gateway.open_sockets() > sockets_before and time.monotonic() < deadline:
            time.sleep(0.2)
        sockets_after = gateway.open_sockets()
        assert sockets_after <= sockets_before, (sockets_before, sockets_during, sockets_after)
        # ... and every SMTP connection slot is free again (smtp.max_connections). A slot
        # is given back when the session's task has finished, which on a loaded machine can
        # trail the socket's close by a little: allow 10 s, then it is a leak.
        deadline = time.monotonic() + 10
        greetings = smtp_greetings(gateway, PER_LISTENER + 1)
        while greetings != [b"220"] * (PER_LISTENER + 1) and time.monotonic() < deadline:
            time.sleep(0.5)
            greetings = smtp_greetings(gateway, PER_LISTENER + 1)
        assert greetings == [b"220"] * (PER_LISTENER + 1)
        assert gateway.alive()
        assert not gateway.log_problems(), gateway.log_problems()
    finally:
        assert gateway.stop() == 0
    closed = {}
    for slow in slows:
        key = f"{slow.listener}/{slow.kind}"
        closed[key] = round(max(closed.get(key, 0.0), slow.closed_after or 0.0), 1)
    figures.record(
        "slow clients",
        slow_sessions=len(slows),
        idle_timeout=IDLE,
        transaction_timeout=TRANSACTION,
        normal_clients=outcome,
        normal_clients_seconds=round(normal_seconds, 2),
        server_sockets_before_during_after=(sockets_before, sockets_during, sockets_after),
        latest_close_seconds=closed,
    )
