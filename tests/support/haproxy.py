"""A real HAProxy (Debian's /usr/sbin/haproxy) in front of gateway nodes, for tests.

TCP mode, one frontend per service on a free 127.0.0.1 port, round robin over the
nodes with health checks, and PROXY protocol v2 to the backends (`send-proxy-v2`; v1,
`send-proxy`, with proxy_version=1), so a node sees the client's address, not HAProxy's.
It runs in the foreground (-db) and is stopped by its PID. A stats socket in the temp
directory tells which nodes are up.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from tests.support.ports import free_port, wait_listening
from tests.support.tools import require_tool, stop_process

START_TIMEOUT = 30.0
CHECK_INTERVAL_MS = 500


def haproxy_binary() -> str:
    """Debian's haproxy (in /usr/sbin, which a non-root PATH may lack)."""
    debian = Path("/usr/sbin/haproxy")
    return str(debian) if debian.exists() else require_tool("haproxy")


class HAProxy:
    """`backends` is {service: [port of that service on each node]}, e.g. {"smtp": [..]}."""

    def __init__(
        self,
        root: Path,
        backends: dict[str, list[int]],
        *,
        send_proxy: bool = True,
        proxy_version: int = 2,
        https_checks: dict[str, str] | None = None,
    ) -> None:
        self.binary = haproxy_binary()
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.backends = backends
        self.send_proxy = send_proxy
        self.proxy_version = proxy_version
        # {service: path}: that backend is HTTPS passed through (no PROXY header), and a
        # node is up only while GET path over its TLS answers 200 (e.g. the console, /readyz).
        self.https_checks = https_checks or {}
        self.ports = {service: free_port() for service in backends}
        self.stats_socket = root / "stats.sock"
        self.config = root / "haproxy.cfg"
        self.config.write_text(self.render())
        self.log_path = root / "haproxy.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def render(self) -> str:
        lines = [
            "global",
            "    maxconn 1000",
            f"    stats socket {self.stats_socket} mode 600 level operator",
            "defaults",
            "    mode tcp",
            "    timeout connect 5s",
            "    timeout client 120s",
            "    timeout server 120s",
        ]
        proxy = ""
        if self.send_proxy:
            proxy = " send-proxy-v2" if self.proxy_version == 2 else " send-proxy"
        for service, node_ports in self.backends.items():
            lines += [
                f"frontend {service}",
                f"    bind 127.0.0.1:{self.ports[service]}",
                f"    default_backend {service}_nodes",
                f"backend {service}_nodes",
                "    balance roundrobin",
            ]
            server = proxy
            if service in self.https_checks:
                lines += [
                    f"    option httpchk GET {self.https_checks[service]}",
                    "    http-check expect status 200",
                ]
                server = " check-ssl verify none"
            lines += [
                f"    server node{n} 127.0.0.1:{port}{server} check inter {CHECK_INTERVAL_MS}"
                " fall 2 rise 1"
                for n, port in enumerate(node_ports, start=1)
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        assert not self.running(), "already running"
        checked = subprocess.run(
            [self.binary, "-c", "-q", "-f", str(self.config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if checked.returncode != 0:
            raise AssertionError(f"haproxy.cfg refused: {checked.stderr}\n{self.render()}")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-db", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        for port in self.ports.values():
            if not wait_listening(port, START_TIMEOUT, self.running):
                self.stop()
                raise AssertionError(f"haproxy did not start: {self.log_tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10) -> None:
        stop_process(self.proc, timeout)

    def server_states(self) -> dict[tuple[str, str], str]:
        """{(backend, server): status} from `show stat`, e.g. ("smtp_nodes", "node1"): "UP"."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats_socket))
            sock.sendall(b"show stat\n")
            raw = b"".join(iter(lambda: sock.recv(65536), b""))
        rows = [line.split(",") for line in raw.decode().splitlines() if line and line[0] != "#"]
        return {(row[0], row[1]): row[17] for row in rows if row[1] not in ("FRONTEND", "BACKEND")}

    def wait_all_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                states = self.server_states()
            except (FileNotFoundError, ConnectionRefusedError):
                states = {}  # the stats socket is not there yet (the ports may be)
            if states and all(state.startswith("UP") for state in states.values()):
                return
            time.sleep(0.1)
        raise AssertionError(f"haproxy backends not all up: {self.server_states()}")

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
