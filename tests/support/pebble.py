"""Debian's `pebble` (a test ACME CA) and `pebble-challtestsrv` (its DNS) on free ports.

pebble's HTTPS certificate is made with trustme (Debian ships none); its issuing root
is made fresh at each start and fetched from the management API (/roots/0). The DNS
server answers 127.0.0.1 for every name, so pebble's HTTP-01 check of any name reaches
the port the test gives as `http_port` (the gateway's tls.acme_http_listen).
`point_names_at("127.0.0.2")` makes every later validation miss the gateway.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import trustme

from .ports import free_port, wait_listening
from .tools import not_available

PEBBLE = Path("/usr/bin/pebble")
CHALLTESTSRV = Path("/usr/bin/pebble-challtestsrv")


@dataclass
class Pebble:
    """A running pebble: its directory URL, the CA file for its HTTPS, its root PEM."""

    directory: str
    ca_file: Path  # trust this for pebble's own HTTPS (tls.acme_ca_file)
    management: str
    dns_management: str
    http_port: int
    processes: list[subprocess.Popen] = field(default_factory=list)

    def _https(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def root_pem(self) -> str:
        """The root that signs pebble's certificates (a real client trusts this)."""
        with urllib.request.urlopen(f"{self.management}/roots/0", context=self._https()) as r:
            return r.read().decode()

    def trust(self) -> ssl.SSLContext:
        """A client context trusting pebble's issuing root only."""
        context = ssl.create_default_context(cadata=self.root_pem())
        return context

    def point_names_at(self, ip: str) -> None:
        body = json.dumps({"ip": ip}).encode()
        request = urllib.request.Request(f"{self.dns_management}/set-default-ipv4", data=body)
        with urllib.request.urlopen(request) as answer:  # plain HTTP on loopback
            assert answer.status == 200

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_pebble(workdir: Path, http_port: int) -> Pebble:
    """Start challtestsrv and pebble under `workdir`; the caller stops them."""
    for tool in (PEBBLE, CHALLTESTSRV):
        if not tool.exists():
            not_available(f"{tool} is not installed (Debian package pebble; .ci/run installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = workdir / "ca.pem", workdir / "cert.pem", workdir / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server_cert.private_key_pem.write_to_path(str(key_file))
    server_cert.cert_chain_pems[0].write_to_path(str(cert_file))
    dns_port, dns_admin, acme_port, admin_port = (free_port() for _ in range(4))
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{acme_port}",
            "managementListenAddress": f"127.0.0.1:{admin_port}",
            "certificate": str(cert_file),
            "privateKey": str(key_file),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    (workdir / "pebble.json").write_text(json.dumps(config))
    log = (workdir / "pebble.log").open("ab")
    processes = [
        subprocess.Popen(
            [
                str(CHALLTESTSRV),
                "-management",
                f"127.0.0.1:{dns_admin}",
                "-dns01",
                f"127.0.0.1:{dns_port}",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ]
    pebble = Pebble(
        directory=f"https://127.0.0.1:{acme_port}/dir",
        ca_file=ca_file,
        management=f"https://127.0.0.1:{admin_port}",
        dns_management=f"http://127.0.0.1:{dns_admin}",
        http_port=http_port,
        processes=processes,
    )
    try:
        _wait(processes[0], dns_admin, "pebble-challtestsrv")
        env = {
            **os.environ,
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_VA_ALWAYS_VALID": "0",
            "PEBBLE_AUTHZREUSE": "0",  # every order is validated again
            "PEBBLE_WFE_NONCEREJECT": "0",  # no random badNonce answers
        }
        command = [str(PEBBLE), "-config", str(workdir / "pebble.json")]
        command += ["-dnsserver", f"127.0.0.1:{dns_port}"]
        processes.append(
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
        )
        _wait(processes[1], acme_port, "pebble")
        _wait(processes[1], admin_port, "pebble management")
    except BaseException:
        pebble.stop()
        raise
    return pebble


def _wait(process: subprocess.Popen, port: int, name: str) -> None:
    if not wait_listening(port, 30, alive=lambda: process.poll() is None):
        raise RuntimeError(f"{name} did not start on 127.0.0.1:{port}")
    time.sleep(0.1)
