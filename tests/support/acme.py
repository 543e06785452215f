"""Helpers for the ACME tests: a gateway pointed at pebble, real TLS clients that
check the served certificate against pebble's root, and an ACME front that answers
what pebble cannot be made to answer (429 rate limits, 500 server errors)."""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import re
import secrets
import smtplib
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from storage.acme_status import AcmeStatus, read_status

from .pebble import Pebble
from .ports import free_port

HOSTNAME = "mx.acme.test"
# pebble 2.4.0 issues for 157766400 s (5 years) and has no validity setting: this
# fraction renews about 4.7 s after each issuance.
FAST_RENEWAL = "0.00000003"


def acme_env(pebble: Pebble, **extra: str) -> dict[str, str]:
    """Environment for a `gateway serve` that gets its certificate from `pebble`."""
    return {
        "GATEWAY_GATEWAY__HOSTNAME": HOSTNAME,
        "GATEWAY_TLS__ACME": "true",
        "GATEWAY_TLS__ACME_EMAIL": "ops@acme.test",
        "GATEWAY_TLS__ACME_DIRECTORY": pebble.directory,
        "GATEWAY_TLS__ACME_CA_FILE": str(pebble.ca_file),
        "GATEWAY_TLS__ACME_HTTP_LISTEN": f"127.0.0.1:{pebble.http_port}",
        "GATEWAY_TLS__RELOAD_INTERVAL": "0.5",
        "GATEWAY_IMAP__IMAPS_LISTEN": f"127.0.0.1:{extra.pop('imaps_port', free_port())}",
        **extra,
    }


def wait_status(
    data_dir: Path, ready: Callable[[AcmeStatus], bool], timeout: float = 60
) -> AcmeStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(data_dir)
        if status is not None and ready(status):
            return status
        time.sleep(0.2)
    raise AssertionError(f"ACME status never got there: {read_status(data_dir)}")


def fingerprint(der: bytes) -> str:
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def imaps_certificate(port: int, trust: ssl.SSLContext) -> str:
    """The fingerprint an IMAPS client sees, after verifying chain and host name."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with trust.wrap_socket(raw, server_hostname=HOSTNAME) as tls:
            assert tls.recv(1024).startswith(b"* OK")
            return fingerprint(tls.getpeercert(binary_form=True))


def smtp_starttls_certificate(port: int, trust: ssl.SSLContext) -> str:
    client = smtplib.SMTP(timeout=10)
    client.connect("127.0.0.1", port)
    client._host = HOSTNAME  # the name to verify (we connect by address)
    try:
        client.ehlo()
        client.starttls(context=trust)
        return fingerprint(client.sock.getpeercert(binary_form=True))
    finally:
        client.quit()


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to HOSTNAME at 127.0.0.1 (the test name has no DNS), verified as HOSTNAME."""

    def __init__(self, port: int, trust: ssl.SSLContext) -> None:
        super().__init__(HOSTNAME, port, context=trust, timeout=30)
        self.trust = trust

    def connect(self) -> None:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        self.sock = self.trust.wrap_socket(raw, server_hostname=HOSTNAME)


def https_request(
    port: int,
    trust: ssl.SSLContext,
    path: str,
    headers: dict | None = None,
    form: dict | None = None,
) -> tuple[int, str, str, http.client.HTTPResponse]:
    """(status, body, certificate fingerprint, response) of one verified HTTPS request."""
    connection = _Pinned(port, trust)
    try:
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        head = dict(headers or {})
        if body is not None:
            head["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request("POST" if body is not None else "GET", path, body, head)
        answer = connection.getresponse()
        text = answer.read().decode()
        seen = fingerprint(connection.sock.getpeercert(binary_form=True))
        return answer.status, text, seen, answer
    finally:
        connection.close()


def first_admin_password(stdout: list[str]) -> str:
    for index, line in enumerate(stdout):
        if line.startswith("No admin account existed"):
            return stdout[index + 1].strip()
    raise AssertionError(f"no first admin password in {stdout}")


def connect_page(port: int, trust: ssl.SSLContext, password: str) -> str:
    """Sign in as 'admin' over verified HTTPS and return the Connect page's HTML."""
    cookies: dict[str, str] = {}

    def request(path: str, form: dict | None = None) -> str:
        jar = "; ".join(f"{k}={v}" for k, v in cookies.items())
        status, text, _seen, answer = https_request(
            port, trust, path, {"Cookie": jar} if jar else {}, form
        )
        for header in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        assert status in (200, 303), (path, status)
        return text

    token = re.search(r'name="csrf_token" value="([^"]+)"', request("/login"))
    assert token, "no CSRF token on the sign-in page"
    form = {"username": "admin", "password": password, "code": "", "csrf_token": token.group(1)}
    request("/login", form)
    return request("/connect")


class FaultyFront:
    """A plain-HTTP ACME directory in front of pebble that can turn hostile.

    mode "pass": pebble's directory as it is (the client then talks to pebble).
    mode "order429": newOrder points here and answers 429 rateLimited.
    mode "dir500": the directory itself answers 500 serverInternal.
    """

    def __init__(self, pebble: Pebble) -> None:
        self.pebble = pebble
        self.mode = "pass"
        self.hits: list[str] = []
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                front.answer(self)

            def do_POST(self) -> None:
                front.answer(self)

            def do_HEAD(self) -> None:
                front.answer(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dir"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        self.hits.append(f"{self.mode} {handler.command} {handler.path}")
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        if handler.path == "/dir" and self.mode == "dir500":
            return self._problem(handler, 500, "serverInternal", "the CA is having a bad day")
        if handler.path == "/dir":
            context = ssl.create_default_context(cafile=str(self.pebble.ca_file))
            with urllib.request.urlopen(self.pebble.directory, context=context) as upstream:
                directory = json.loads(upstream.read())
            if self.mode == "order429":
                directory["newOrder"] = self.url.replace("/dir", "/new-order")
            return self._send(handler, 200, json.dumps(directory), "application/json")
        return self._problem(handler, 429, "rateLimited", "too many new orders recently")

    def _problem(self, handler, status: int, kind: str, detail: str) -> None:
        problem = {"type": f"urn:ietf:params:acme:error:{kind}", "detail": detail}
        self._send(handler, status, json.dumps(problem), "application/problem+json")

    @staticmethod
    def _send(handler, status: int, body: str, content_type: str) -> None:
        data = body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Replay-Nonce", secrets.token_urlsafe(16).rstrip("="))
        if status == 429:
            handler.send_header("Retry-After", "1")
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
