"""A fresh `gateway serve`, as `make run` starts it: /metrics needs a token made on first
start, no public route names a mailbox, domain or address, HTTPS answers carry HSTS."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from web.app import STATIC_DIR
from web.routes import ROUTE_TABLES

from .conftest import GatewayProcess, insecure_tls

HSTS = "max-age=31536000"


def request(base: str, path: str, token: str = "", method: str = "GET", headers=None):
    """(status, headers, body) of one request on a new connection; redirects not followed."""
    req = urllib.request.Request(f"{base}{path}", method=method, headers=headers or {})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=insecure_tls()), _NoRedirect()
    )
    try:
        with opener.open(req, timeout=30) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def https(gateway: GatewayProcess) -> str:
    return f"https://127.0.0.1:{gateway.ports['web']}"


def generated_token(data_dir: Path) -> str:
    return (data_dir / "secrets" / "metrics-token").read_text().strip()


def public_requests() -> list[tuple[str, str]]:
    """Every public route of the console (from its route tables), static files, errors."""
    found = [
        (route.method, route.path)
        for table in ROUTE_TABLES
        for route in table
        if getattr(route.handler, "access_level", None) == "public"
    ]
    found += [("GET", f"/static/{f.name}") for f in sorted(Path(STATIC_DIR).iterdir())]
    found += [("GET", "/nowhere"), ("PUT", "/login"), ("GET", "/api/v1/mailboxes")]
    found += [("GET", "/mailboxes"), ("GET", "/connect"), ("GET", "/audit")]
    return found


def test_out_of_the_box_nothing_public_names_a_tenant(
    running_gateway, gateway_data, mailbox_on_disk
):
    names = [mailbox_on_disk["id"], "example.test", *mailbox_on_disk["addresses"]]
    base = https(running_gateway)
    seen = set()
    for method, path in public_requests():
        for credentials in ("", "wrong-token"):
            status, headers, body = request(base, path, credentials, method)
            seen.add((path, status))
            shown = (body + "\n" + str(headers)).lower()
            for name in names:
                assert name.lower() not in shown, (method, path, status, name)
            assert headers["Strict-Transport-Security"] == HSTS, (method, path, status)
    assert ("/metrics", 401) in seen and ("/healthz", 200) in seen
    token_file = gateway_data / "secrets" / "metrics-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.parent.stat().st_mode & 0o777 == 0o700
    token = generated_token(gateway_data)
    assert len(token) >= 32
    status, headers, body = request(base, "/metrics", token)
    assert status == 200 and f'mailbox="{mailbox_on_disk["id"]}"' in body
    logs = "\n".join(running_gateway.stdout + running_gateway.stderr)
    assert token not in logs


def test_workers_share_one_token_that_survives_a_restart(gateway_data, mailbox_on_disk):
    gateway = GatewayProcess(gateway_data, extra_args=["--workers", "2"])
    gateway.wait_ready(listeners=8)
    try:
        token = generated_token(gateway_data)
        answers = [request(https(gateway), "/metrics", token)[0] for _ in range(12)]
        assert answers == [200] * 12  # whichever worker took the connection
        assert request(https(gateway), "/metrics")[0] == 401
    finally:
        assert gateway.stop() == 0
    assert not list((gateway_data / "secrets").glob(".*"))  # no temporary file left
    again = GatewayProcess(gateway_data)
    again.wait_ready()
    try:
        assert generated_token(gateway_data) == token
        assert request(https(again), "/metrics", token)[0] == 200
    finally:
        assert again.stop() == 0


def test_token_file_then_token_take_precedence(gateway_data, mailbox_on_disk, tmp_path):
    shared = tmp_path / "shared-metrics-token"
    shared.write_text("  shared-token-for-every-node-0123456789\n")
    os.chmod(shared, 0o600)
    from_file = GatewayProcess(gateway_data, env={"GATEWAY_WEB__METRICS_TOKEN_FILE": str(shared)})
    from_file.wait_ready()
    try:
        base = https(from_file)
        assert request(base, "/metrics", "shared-token-for-every-node-0123456789")[0] == 200
        assert request(base, "/metrics")[0] == 401
    finally:
        assert from_file.stop() == 0
    assert not (gateway_data / "secrets" / "metrics-token").exists()  # nothing generated
    env = {
        "GATEWAY_WEB__METRICS_TOKEN_FILE": str(shared),
        "GATEWAY_WEB__METRICS_TOKEN": "the-configured-token-wins-0123456789",
    }
    configured = GatewayProcess(gateway_data, env=env)
    configured.wait_ready()
    try:
        base = https(configured)
        assert request(base, "/metrics", "the-configured-token-wins-0123456789")[0] == 200
        assert request(base, "/metrics", "shared-token-for-every-node-0123456789")[0] == 401
    finally:
        assert configured.stop() == 0


def test_an_unusable_token_file_stops_the_start(gateway_data, tmp_path):
    missing = tmp_path / "no-such-token"
    empty = tmp_path / "empty-token"
    empty.write_text("\n")
    spaced = tmp_path / "two-words"
    spaced.write_text("secret-part-one secret-part-two\n")
    cases = ((missing, "cannot read"), (empty, "is empty"), (spaced, "printable"))
    for path, reason in cases:
        gateway = GatewayProcess(gateway_data, env={"GATEWAY_WEB__METRICS_TOKEN_FILE": str(path)})
        assert gateway.proc.wait(timeout=60) == 1
        gateway.proc.stdout.close()
        err = "\n".join(gateway.stderr)
        assert "web.metrics_token_file" in err and str(path) in err and reason in err, err
        assert "Traceback" not in err and "secret-part" not in err
        assert not any("listening on" in line for line in gateway.stdout)


def test_plain_http_sends_no_hsts(gateway_data, mailbox_on_disk):
    gateway = GatewayProcess(gateway_data, env={"GATEWAY_WEB__PLAIN_HTTP": "true"})
    gateway.wait_ready()
    try:
        base = f"http://127.0.0.1:{gateway.ports['web']}"
        for path in ("/login", "/healthz", "/metrics", "/static/app.css", "/nowhere"):
            status, headers, _body = request(base, path)
            assert status in (200, 401, 404), (path, status)
            assert "Strict-Transport-Security" not in headers, path
    finally:
        assert gateway.stop() == 0
