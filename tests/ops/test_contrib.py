"""contrib/gateway.toml, contrib/journal-gateway.service and the Dockerfile.

Docker cannot run in the test environment, so the Dockerfile is linted (non-root USER,
VOLUME, HEALTHCHECK, EXPOSE) and its health-check command is run against a local HTTPS
/healthz; systemd-analyze verifies the unit when it is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway.config import OPTIONS, load_settings
from gateway.config.loader import parse_hostport
from gateway.config.schema import DEPRECATED

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "contrib" / "gateway.toml"
UNIT = ROOT / "contrib" / "journal-gateway.service"
DOCKERFILE = ROOT / "Dockerfile"

PRODUCTION_PORTS = {
    "smtp.listen": 25,
    "smtp.smtps_listen": 465,
    "pop3.listen": 110,
    "pop3.pop3s_listen": 995,
    "imap.listen": 143,
    "imap.imaps_listen": 993,
    "web.listen": 8450,
}


def example_with_certificates(tmp_path: Path, tls_files: tuple[Path, Path]) -> Path:
    """The example with its certbot paths pointing at real files: the loader checks that
    the certificate and key can be read, as `serve` needs them."""
    text = EXAMPLE.read_text()
    text = text.replace("/etc/letsencrypt/live/mx.example.com/fullchain.pem", str(tls_files[0]))
    text = text.replace("/etc/letsencrypt/live/mx.example.com/privkey.pem", str(tls_files[1]))
    copy = tmp_path / "gateway.toml"
    copy.write_text(text)
    return copy


def test_production_example_is_valid_and_sets_every_production_port(tmp_path, tls_files):
    example = example_with_certificates(tmp_path, tls_files)
    settings = load_settings(example, environ={})
    for key, port in PRODUCTION_PORTS.items():
        host, actual = parse_hostport(settings[key], key)
        assert actual == port, key
        assert host in ("0.0.0.0", "::"), key
        assert settings.sources[key].startswith(f"{example}:"), key
    assert settings["tls.cert"] == str(tls_files[0])
    assert settings["tls.key"] == str(tls_files[1])
    tls = tomllib.loads(EXAMPLE.read_text())["tls"]
    assert tls["cert"] == "/etc/letsencrypt/live/mx.example.com/fullchain.pem"
    assert tls["key"] == "/etc/letsencrypt/live/mx.example.com/privkey.pem"
    assert settings["log.format"] == "json"


def test_production_example_sets_every_option_but_no_deprecated_one(tmp_path, tls_files):
    settings = load_settings(example_with_certificates(tmp_path, tls_files), environ={})
    current = [o.key for o in OPTIONS if o.key not in DEPRECATED]
    unset = [key for key in current if settings.sources[key] == "default"]
    assert unset == [], f"add these options to contrib/gateway.toml: {unset}"
    deprecated = [key for key in DEPRECATED if settings.sources[key] != "default"]
    assert deprecated == [], f"remove these deprecated options: {deprecated}"


def test_example_network_ranges_in_comments_are_valid_cidrs(tmp_path, tls_files):
    text = EXAMPLE.read_text()
    block = re.search(r"# allowed_networks = \[(.*?)# \]", text, re.S)
    assert block, "the Microsoft 365 example is missing"
    cidrs = re.findall(r'"([^"]+)"', block.group(1))
    assert "40.107.0.0/16" in cidrs and "2a01:111:f400::/48" in cidrs
    example = example_with_certificates(tmp_path, tls_files)
    settings = load_settings(example, environ={}, overrides={"smtp.allowed_networks": cidrs})
    assert settings["smtp.allowed_networks"] == cidrs


UNITS = (UNIT.name, "journal-gateway-retention.service", "journal-gateway-retention.timer")


def _units_with_real_binary(tmp_path: Path) -> list[Path]:
    """Copies whose ExecStart points at this venv's `gateway` (the real path exists only
    once installed, and systemd-analyze checks that it is executable)."""
    gateway = Path(sys.executable).with_name("gateway")
    out = []
    for name in UNITS:
        unit = tmp_path / name
        text = (ROOT / "contrib" / name).read_text()
        unit.write_text(text.replace("/opt/journal-gateway/bin/gateway", str(gateway)))
        out.append(unit)
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_units_verify_cleanly(tmp_path):
    units = _units_with_real_binary(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True, timeout=60
    )
    output = (result.stdout + result.stderr).splitlines()
    ours = [line for line in output if any(u.name in line for u in units)]
    assert result.returncode == 0 and ours == [], result.stdout + result.stderr


def test_systemd_unit_has_the_required_settings():
    directives = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            directives.setdefault(name.strip(), []).append(value.strip())
    expected = {
        "User": "journal-gateway",
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/journal-gateway",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "Restart": "on-failure",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "KillSignal": "SIGTERM",
    }
    for name, value in expected.items():
        assert directives.get(name) == [value], name
    assert "AF_INET6" in directives["RestrictAddressFamilies"][0]
    assert int(directives["TimeoutStopSec"][0]) > 30  # longer than gateway.shutdown_grace


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_runs_unprivileged_with_a_data_volume_and_a_health_check():
    instructions = _dockerfile_instructions()
    names = [n for n, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [rest for n, rest in instructions if n == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert names.index("USER") > max(i for i, n in enumerate(names) if n == "RUN")
    assert any(n == "VOLUME" and "/data" in rest for n, rest in instructions)
    assert any(n == "HEALTHCHECK" and "/healthz" in rest for n, rest in instructions)
    exposed = {int(p) for n, rest in instructions if n == "EXPOSE" for p in rest.split()}
    env = " ".join(rest for n, rest in instructions if n == "ENV")
    listen_ports = {int(p) for p in re.findall(r"LISTEN=[\d.]+:(\d+)", env)}
    assert listen_ports == exposed and len(exposed) == 7
    assert "GATEWAY_DATA=/data" in env


def test_dockerfile_installs_the_locked_runtime_versions_with_hashes():
    runs = [rest for n, rest in _dockerfile_instructions() if n == "RUN"]
    copies = [rest for n, rest in _dockerfile_instructions() if n == "COPY"]
    assert "requirements.lock ./" in copies
    locked = next(i for i, r in enumerate(runs) if "--require-hashes -r requirements.lock" in r)
    gateway = next(i for i, r in enumerate(runs) if "pip install --no-deps ." in r)
    assert locked < gateway  # the gateway itself adds no unlocked dependency
    assert not [r for r in runs if re.search(r"pip install (?!--require-hashes|--no-deps)", r)]


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def test_dockerfile_health_check_command_reaches_https_healthz(tls_files, tmp_path):
    instructions = _dockerfile_instructions()
    check = next(rest for n, rest in instructions if n == "HEALTHCHECK")
    command = json.loads(check[check.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, tls_files))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        env = {"GATEWAY_WEB__LISTEN": f"0.0.0.0:{port}", "PATH": "/usr/bin:/bin"}
        up = subprocess.run([sys.executable, "-c", command[2]], env=env, timeout=30)
        assert up.returncode == 0
    finally:
        server.shutdown()
        server.server_close()
    down = subprocess.run([sys.executable, "-c", command[2]], env=env, capture_output=True)
    assert down.returncode != 0
