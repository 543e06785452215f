"""Two `gateway serve` nodes on one PostgreSQL index and one S3 bucket, behind HAProxy.

Each node has its own DATA directory and its own ports; both have the same
storage.index (a fresh database), the same storage.blobs bucket (SeaweedFS) and the
same seal key, read from one 0600 file (secrets.seal_key_file). HAProxy sends PROXY v2
to SMTP, POP3 and IMAP of both nodes, and the nodes trust only 127.0.0.1 (HAProxy's
address, gateway.trusted_proxies) to send it. A test that must reach one given node
speaks as the balancer would: `NodeSMTP` / `NodePOP3` connect from 127.0.0.1 and send
the PROXY v2 header themselves. HAProxy also passes the consoles' HTTPS through, a node
up there only while its /readyz answers 200. Every process is stopped by its own PID.
"""

from __future__ import annotations

import base64
import imaplib
import json
import os
import poplib
import random
import smtplib
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.support import Box, Gateway, Ledger, insecure_tls, make_message
from tests.support.haproxy import HAProxy
from tests.support.postgres import PostgresServer
from tests.support.seaweed import S3Target, SeaweedS3, gateway_env
from tests.support.tools import write_private

PROXIED = ("smtp", "pop3", "imap")
CLIENT = "127.0.0.9"  # the mail client's own address: neither HAProxy's nor a node's
TIMEOUT = 30.0
LOCK_TTL = 6.0  # pop3.lock_ttl on the nodes: short, so a dead node's lock runs out soon
DOMAIN = "example.test"
IDLE_POLL = 60.0  # imap.idle_poll_interval: an EXISTS within seconds is NOTIFY's doing


def proxy_v2_header(client: str, port: int) -> bytes:
    """The PROXY v2 header HAProxy's send-proxy-v2 writes: TCP over IPv4 from `client`."""
    signature = b"\r\n\r\n\x00\r\nQUIT\n"
    body = socket.inet_aton(client) + socket.inet_aton("127.0.0.1")
    body += struct.pack("!HH", 40000 + random.randrange(20000), port)
    return signature + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def _as_balancer(port: int, timeout: float | None, client: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout, ("127.0.0.1", 0))
    sock.sendall(proxy_v2_header(client, port))
    return sock


class NodeSMTP(smtplib.SMTP):
    """SMTP straight to one node, opening with the PROXY header a balancer would send."""

    def __init__(self, port: int, client: str = CLIENT) -> None:
        self._client = client
        super().__init__("127.0.0.1", port, timeout=TIMEOUT)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return _as_balancer(port, timeout, self._client)


class NodePOP3(poplib.POP3):
    """POP3 straight to one node, opening with the PROXY header a balancer would send."""

    def __init__(self, port: int, client: str = CLIENT) -> None:
        self._client = client
        super().__init__("127.0.0.1", port, timeout=TIMEOUT)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return _as_balancer(self.port, timeout, self._client)


class NodeIMAP(imaplib.IMAP4):
    """IMAP straight to one node, opening with the PROXY header a balancer would send."""

    def __init__(self, port: int, client: str = CLIENT) -> None:
        self._client = client
        super().__init__("127.0.0.1", port, timeout=TIMEOUT)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return _as_balancer(self.port, timeout, self._client)


def idle_sees_mail_from(cluster: Cluster, box: Box, watcher: int, sender: int) -> float:
    """IMAP IDLE on node `watcher` (its poll is 60 s), one message into node `sender`:
    the seconds until IDLE says EXISTS (NOTIFY through the shared index)."""
    imap = NodeIMAP(cluster.nodes[watcher].ports["imap"])
    imap.starttls(ssl_context=insecure_tls())
    imap.login(box.address, box.passphrase)
    typ, data = imap.select("INBOX")
    assert typ == "OK", data
    before = int(data[0])
    imap.send(b"i1 IDLE\r\n")
    assert imap.readline().startswith(b"+ "), "no IDLE continuation"
    started = time.monotonic()
    send_to_node(cluster.nodes[sender].ports["smtp"], box, b"Subject: idle\r\n\r\nx\r\n")
    line = imap.readline()
    waited = time.monotonic() - started
    assert line == f"* {before + 1} EXISTS\r\n".encode(), line
    imap.send(b"DONE\r\n")
    assert imap.readline().endswith(b" OK IDLE terminated\r\n")
    imap.logout()
    return waited


def send_to_node(port: int, box: Box, message: bytes, sender: str = "sender@example.org") -> None:
    """One message straight into one node (raises on anything but 250)."""
    with NodeSMTP(port) as smtp:
        smtp.starttls(context=insecure_tls())
        smtp.sendmail(sender, [box.address], message)


def pop3_login(client: poplib.POP3, box: Box) -> poplib.POP3:
    client.stls(context=insecure_tls())
    client.user(box.address)
    client.pass_(box.passphrase)
    return client


@dataclass
class Cluster:
    """The running pieces; `env` is what every node (and the CLI) is configured with."""

    root: Path
    postgres: PostgresServer
    seaweed: SeaweedS3
    target: S3Target
    env: dict[str, str]
    nodes: list[Gateway] = field(default_factory=list)
    proxy: HAProxy | None = None

    @classmethod
    def configure(
        cls,
        root: Path,
        postgres: PostgresServer,
        dsn: str,
        seaweed: SeaweedS3,
        target: S3Target,
        **options: str,
    ) -> Cluster:
        root.mkdir(parents=True, exist_ok=True)
        seal_key = write_private(root / "seal.key", base64.b64encode(os.urandom(32)).decode())
        env = {
            "GATEWAY_STORAGE__INDEX": dsn,
            **gateway_env(target, root),
            "GATEWAY_SECRETS__SEAL_KEY_FILE": str(seal_key),
            "GATEWAY_GATEWAY__TRUSTED_PROXIES": "127.0.0.1/32",
            "GATEWAY_POP3__LOCK_TTL": str(LOCK_TTL),
            "GATEWAY_IMAP__IDLE_POLL_INTERVAL": str(IDLE_POLL),
            **{f"GATEWAY_{name.upper()}__PROXY_PROTOCOL": "true" for name in PROXIED},
            **options,
        }
        return cls(root, postgres, seaweed, target, env)

    def data(self, n: int) -> Path:
        return self.root / f"node{n + 1}"

    def start(self, nodes: int = 2) -> None:
        """Node 1 first (it creates the first admin), then the others, then HAProxy."""
        for n in range(nodes):
            node = Gateway(self.data(n), env=self.env)
            node.wait_ready(timeout=90)
            self.nodes.append(node)
        services = (*PROXIED, "web")
        backends = {name: [node.ports[name] for node in self.nodes] for name in services}
        self.proxy = HAProxy(self.root / "haproxy", backends, https_checks={"web": "/readyz"})
        self.proxy.start()
        self.proxy.wait_all_up()

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for node in self.nodes:
            if node.alive():
                node.stop()

    def port(self, service: str) -> int:
        """HAProxy's frontend port for smtp, pop3 or imap."""
        assert self.proxy is not None
        return self.proxy.ports[service]

    def wait_state(
        self, n: int, state: str, services=(*PROXIED, "web"), timeout: float = 15
    ) -> None:
        """Until HAProxy's health checks say `state` (UP, DOWN) for node n in `services`."""
        assert self.proxy is not None
        deadline = time.monotonic() + timeout
        while True:
            states = self.proxy.server_states()
            wanted = [states[(f"{name}_nodes", f"node{n + 1}")] for name in services]
            if all(found.startswith(state) for found in wanted):
                return
            assert time.monotonic() < deadline, states
            time.sleep(0.1)

    def mailbox(self, *options: str) -> Box:
        """A mailbox made with the CLI against the shared index."""
        from tests.reliability.support import cli

        if not getattr(self, "_domain_added", False):
            added = cli(self.data(0), "domain", "add", DOMAIN, env=self.env)
            assert added.returncode == 0, added.stderr
            self._domain_added = True
        made = cli(
            self.data(0), "mailbox", "create", "--domain", DOMAIN, "--json", *options, env=self.env
        )
        assert made.returncode == 0, made.stderr
        created = json.loads(made.stdout)
        return Box(created["id"], created["address"], created["passphrase"])

    def index_query(self, query: str, *params: object) -> list[tuple]:
        """A check the test makes itself, as PostgreSQL's superuser, on this test's database."""
        import psycopg

        dbname = urllib.parse.urlsplit(self.env["GATEWAY_STORAGE__INDEX"]).path.lstrip("/")
        with psycopg.connect(
            host=str(self.postgres.socket_dir),
            port=self.postgres.port,
            user="postgres",
            dbname=dbname,
            connect_timeout=5,
        ) as conn:
            return conn.execute(query, params).fetchall()


# --- sustained load ---------------------------------------------------------------------------
@dataclass
class Load:
    """What several concurrent senders saw: the ledger and the connection-level failures."""

    ledger: Ledger = field(default_factory=Ledger)
    failures: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, error: BaseException) -> None:
        with self.lock:
            self.failures[type(error).__name__] += 1

    def refusals(self, first_digit: str) -> int:
        with self.ledger.lock:
            return sum(n for code, n in self.ledger.refusals.items() if code[0] == first_digit)


def transaction(client: smtplib.SMTP, box: Box, canary: str, message: bytes, load: Load) -> int:
    """One MAIL/RCPT/DATA; counted as acknowledged only once the client has read the 250."""
    ledger = load.ledger
    ledger.attempt(canary, message)
    try:
        for step in (
            lambda: client.mail("sender@example.org", [f"SIZE={len(message)}"]),
            lambda: client.rcpt(box.address),
            lambda: client.data(message),
        ):
            code, _ = step()
            if code != 250:
                ledger.refused(code)
                client.rset()
                return code
    except smtplib.SMTPResponseException as exc:  # DATA refused before 354
        ledger.refused(exc.smtp_code)
        client.rset()
        return exc.smtp_code
    ledger.ack(canary, box.id)
    return 250


def sustained_sender(
    port: int, boxes: list[Box], load: Load, until: float, seed: int, sizes=(300, 30_000)
) -> None:
    """Send through `port` until `until`; reconnect after any failure (a node died, a
    4xx), so the load goes on against whatever still answers."""
    rng = random.Random(seed)
    number = 0
    while time.monotonic() < until:
        try:
            with smtplib.SMTP(
                "127.0.0.1", port, timeout=TIMEOUT, source_address=(CLIENT, 0)
            ) as client:
                client.starttls(context=insecure_tls())
                client.ehlo("sender.example.org")
                for _ in range(rng.randint(2, 10)):
                    if time.monotonic() >= until:
                        break
                    number += 1
                    canary = f"h{seed}-{number}-{rng.getrandbits(32):08x}"
                    message = make_message(canary, rng.randint(*sizes), rng)
                    if transaction(client, rng.choice(boxes), canary, message, load) != 250:
                        time.sleep(0.2)  # as a real MTA would, a little later
        except (OSError, smtplib.SMTPException) as exc:
            load.failed(exc)
            time.sleep(0.1)


def run_load(port: int, boxes: list[Box], seconds: float, senders: int = 4, during=None) -> Load:
    """`senders` threads for `seconds`; `during(started)` runs on this thread meanwhile."""
    load = Load()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=sustained_sender, args=(port, boxes, load, until, seed))
        for seed in range(senders)
    ]
    for thread in threads:
        thread.start()
    try:
        if during is not None:
            during(time.monotonic())
    finally:
        for thread in threads:
            thread.join(timeout=seconds + 4 * TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a sender hung"
    return load
