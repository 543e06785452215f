"""The scale-out phase of `make bench` (issue 13 item 8): `BENCH_ONLY=scaleout`.

Workloads A and B and POP3 retrieval of each, in the same run and with the same rounds
and rotation as the main phases (bench/run_all.py), against three configurations:

  sqlite    1 node, SQLite index + files in DATA: the embedded default, the reference
  pg_s3     1 node, PostgreSQL index + message files in S3 (SeaweedFS `weed mini`)
  pg_s3_x2  2 nodes on one PostgreSQL database and one bucket, behind HAProxy (TCP mode,
            round robin, send-proxy-v2; the nodes with smtp/pop3/imap.proxy_protocol)

One PostgreSQL 15 and one SeaweedFS serve both shared configurations (a database and a
bucket each); they are started by the same helpers the tests use (tests/support/:
bench already needs the test dependencies, e.g. trustme), everything on 127.0.0.1. Only
one configuration is loaded at a time, so the CPU that PostgreSQL, weed and HAProxy
burn during its rounds is its own. CPU seconds are read from /proc per process kind
(gateway nodes, postgres, weed, haproxy: each summed over its process tree, reaped
children included) and divided by the messages moved.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.haproxy import HAProxy
from tests.support.postgres import PostgresServer, dbname
from tests.support.seaweed import SeaweedS3, gateway_env
from tests.support.tools import write_private

from . import load, procs, run_all
from .dovecot import descendants
from .servers import Gateway

KINDS = ("gateway", "postgres", "weed", "haproxy")
WORKLOADS = ("A", "B")
PROXIED = ("SMTP", "POP3", "IMAP")
AGE = b"age-encryption.org/v1\n"
STATS_SETTLE = 1.2  # seconds: PostgreSQL backends flush their statistics once a second
COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = %s"
MESSAGES_SIZE = "SELECT count(*), pg_total_relation_size('messages') FROM messages"
WAL = "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, wal_sync FROM pg_stat_wal"


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    shared: bool  # PostgreSQL index + S3 blobs (else SQLite + files in DATA)
    nodes: int  # more than one: behind HAProxy


CONFIGS = (
    Config("sqlite", "1 node, SQLite + files", shared=False, nodes=1),
    Config("pg_s3", "1 node, PostgreSQL + S3", shared=True, nodes=1),
    Config("pg_s3_x2", "2 nodes, PostgreSQL + S3, HAProxy", shared=True, nodes=2),
)
REFERENCE = CONFIGS[0].key


def tree(proc: Any) -> list[int]:
    """The pids of a running server's process tree (as root, postgres runs under runuser)."""
    if proc is None or proc.poll() is not None:
        return []
    return descendants(proc.pid)


class Backing:
    """The PostgreSQL and SeaweedFS servers behind the shared configurations."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres: PostgresServer | None = None
        self.seaweed: SeaweedS3 | None = None

    def start(self) -> None:
        """Raises RuntimeError with the reason when a server is missing or fails."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.postgres = PostgresServer()  # its own /tmp directory: postgres must reach it
            self.postgres.setup()
            self.seaweed = SeaweedS3(self.root / "weed")
            self.seaweed.start()
        except (Exception, pytest.skip.Exception, pytest.fail.Exception) as exc:
            # the helpers skip (fail under CI=1) when a server is not installed
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from None

    def node_env(self, directory: Path) -> dict[str, str]:
        """A fresh database and bucket; the settings every node of one cluster shares.

        No secret in argv or in the environment: the PostgreSQL password is in a passfile
        named by the DSN, the S3 secret and the seal key in 0600 files."""
        assert self.postgres is not None and self.seaweed is not None
        directory.mkdir(parents=True, exist_ok=True)
        seal_key = base64.b64encode(secrets.token_bytes(32)).decode()
        return {
            "GATEWAY_STORAGE__INDEX": self.postgres.create_database(),
            "GATEWAY_SECRETS__SEAL_KEY_FILE": str(write_private(directory / "seal-key", seal_key)),
            **gateway_env(self.seaweed.new_target(), directory),
        }

    def index_counters(self, dsn: str) -> dict[str, float]:
        """Commits in the cluster's database and WAL written and flushed (server-wide, but
        only one configuration is loaded at a time). Backends report statistics at most
        once a second, so this waits that long first."""
        assert self.postgres is not None
        time.sleep(STATS_SETTLE)
        database = dbname(dsn)
        with self.postgres.admin_connection() as conn:
            commits = conn.execute(COMMITS, (database,)).fetchone()
            wal = conn.execute(WAL).fetchone()
        assert commits is not None and wal is not None
        return {"pg.commits": commits[0], "pg.wal_bytes": float(wal[0]), "pg.wal_syncs": wal[1]}

    def index_size(self, dsn: str) -> tuple[int, int]:
        """(messages, bytes of the messages table with its indexes and TOAST)."""
        assert self.postgres is not None
        database = dbname(dsn)
        server = self.postgres
        with psycopg.connect(
            host=str(server.socket_dir), port=server.port, user="postgres", dbname=database
        ) as conn:
            row = conn.execute(MESSAGES_SIZE).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def first_object_head(self, blobs: str) -> tuple[str, bytes] | None:
        """(key, first bytes) of one stored object under `blobs` (s3://BUCKET/PREFIX)."""
        assert self.seaweed is not None
        bucket, _, prefix = blobs.removeprefix("s3://").partition("/")
        client = self.seaweed.client()
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=50)
        keys = [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".age")]
        if not keys:
            return None
        got = client.get_object(Bucket=bucket, Key=keys[0], Range=f"bytes=0-{len(AGE) - 1}")
        return keys[0], got["Body"].read()

    def pids(self) -> dict[str, Callable[[], list[int]]]:
        assert self.postgres is not None and self.seaweed is not None
        postgres, seaweed = self.postgres, self.seaweed
        return {"postgres": lambda: tree(postgres.proc), "weed": lambda: tree(seaweed.proc)}

    def log_tail(self) -> str:
        parts = [s.log_tail(8) for s in (self.postgres, self.seaweed) if s is not None]
        return "\n".join(p for p in parts if p)

    def stop(self) -> None:
        if self.seaweed is not None:
            self.seaweed.stop()
        if self.postgres is not None:
            self.postgres.destroy()


@dataclass
class Cluster:
    """One configuration as one benchmark subject: label, pids(), counters()."""

    config: Config
    nodes: list[Gateway]
    services: dict[str, Callable[[], list[int]]] = field(default_factory=dict)
    proxy: HAProxy | None = None
    backing: Backing | None = None

    @property
    def key(self) -> str:
        return self.config.key

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def smtp_port(self) -> int:
        return self.proxy.ports["smtp"] if self.proxy else self.nodes[0].smtp_port

    @property
    def pop3_port(self) -> int:
        return self.proxy.ports["pop3"] if self.proxy else self.nodes[0].pop3_port

    @property
    def rcpts(self) -> list[str]:
        return self.nodes[0].rcpts

    @property
    def logins(self) -> list[tuple[str, str]]:
        return self.nodes[0].logins

    def pids_by_kind(self) -> dict[str, list[int]]:
        return {kind: pids() for kind, pids in self.services.items()}

    def pids(self) -> list[int]:
        return [pid for pids in self.pids_by_kind().values() for pid in pids]

    def counters(self) -> dict[str, float]:
        """What run_all.measured takes the difference of: CPU seconds by process kind
        ("cpu.gateway", ...) and, on PostgreSQL, the index's commits and WAL."""
        cpu = procs.cpu_by_kind(self.pids_by_kind())
        out = {f"cpu.{kind}": seconds for kind, seconds in cpu.items()}
        if self.backing is not None:
            out |= self.backing.index_counters(self.nodes[0].env["GATEWAY_STORAGE__INDEX"])
        return out

    def log_tail(self) -> str:
        tails = [f"{node.data.name}: {node.log_tail(8)}" for node in self.nodes]
        if self.proxy is not None:
            tails.append(f"haproxy: {self.proxy.log_tail(8)}")
        if self.backing is not None:
            tails.append(self.backing.log_tail())
        return "\n".join(tails)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        self.services["gateway"] = lambda: [pid for n in self.nodes for pid in n.pids()]
        if self.backing is not None:
            self.services.update(self.backing.pids())
        if self.config.nodes > 1:
            self.proxy = HAProxy(
                self.nodes[0].data.parent / "haproxy",
                {
                    "smtp": [node.smtp_port for node in self.nodes],
                    "pop3": [node.pop3_port for node in self.nodes],
                },
            )
            self.proxy.start()
            self.proxy.wait_all_up()
            proxy = self.proxy
            self.services["haproxy"] = lambda: tree(proxy.proc)

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for node in self.nodes:
            node.stop()


def build(config: Config, root: Path, backing: Backing) -> Cluster:
    """Nodes with their data directories, 4 mailboxes made through the first node's CLI."""
    root.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    if config.shared:
        env = backing.node_env(root)
    if config.nodes > 1:
        env |= {f"GATEWAY_{service}__PROXY_PROTOCOL": "true" for service in PROXIED}
    nodes = [Gateway(root / f"node{n}", env=env) for n in range(1, config.nodes + 1)]
    nodes[0].setup()
    for node in nodes[1:]:  # the mailboxes are in the shared index already
        node.data.mkdir(parents=True, exist_ok=True)
        node.accounts = nodes[0].accounts
    cluster = Cluster(config, nodes, backing=backing if config.shared else None)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


async def run_phase(tmp: Path, results: dict, rounds: int) -> None:
    """Runs the phase into results["phases"] (scaleout_A, scaleout_pop3_A, ...)."""
    phases, notes = results["phases"], results["notes"]
    root = tmp / "scaleout"
    backing = Backing(root / "backing")
    clusters: list[Cluster] = []
    try:
        run_all.log("scale-out: starting PostgreSQL and SeaweedFS")
        shared = True
        try:
            backing.start()
        except RuntimeError as exc:
            notes.append(f"scale-out: PostgreSQL + S3 configurations skipped: {exc}"[:500])
            shared = False
        for config in CONFIGS:
            if config.shared and not shared:
                continue
            run_all.log(f"scale-out: starting {config.label}")
            try:
                clusters.append(build(config, root / config.key, backing))
            except Exception as exc:
                phases.setdefault("scaleout_A", {})[config.key] = run_all.failure(
                    _Named(config.label), exc
                )
        await _workloads(clusters, results, rounds)
        notes.extend(index_sizes(clusters, backing))
        notes.append(
            "scale-out: one PostgreSQL 15 (fsync on, shared_buffers 32MB: the test suite's"
            " settings) and one SeaweedFS `weed mini` for both shared configurations; every"
            " server and the load generator share the same cores"
        )
    finally:
        for cluster in reversed(clusters):
            _quietly(cluster.stop)
        _quietly(backing.stop)


async def _workloads(clusters: list[Cluster], results: dict, rounds: int) -> None:
    phases = results["phases"]
    senders = [run_all.Subject(c.key, c, c.smtp_port, c.rcpts) for c in clusters]
    readers = [run_all.Subject(c.key, c, c.pop3_port, logins=c.logins) for c in clusters]
    for name in WORKLOADS:
        spec = results["workloads"][name]
        body = load.make_body(spec["size"] - 250)
        before = {}
        for reader in list(readers):
            try:
                before[reader.key] = await load.mailbox_counts(
                    "127.0.0.1", reader.port, reader.logins
                )
            except Exception as exc:  # that configuration is out; the others go on
                phases.setdefault(f"scaleout_{name}", {})[reader.key] = run_all.failure(
                    reader.server, exc
                )
                readers.remove(reader)
                senders = [s for s in senders if s.key != reader.key]
        run_all.log(f"scale-out, workload {name}: {rounds} rounds, configurations rotating")
        done = await run_all.delivery_phase(senders, spec, body, rounds)
        phases.setdefault(f"scaleout_{name}", {}).update(per_message(done))
        del body
        run_all.log(f"scale-out, POP3 retrieval of all of {name}")
        ready = [r for r in readers if "error" not in done.get(r.key, {"error": ""})]
        retrieved = await run_all.retrieval_phase(ready, before, rounds)
        phases[f"scaleout_pop3_{name}"] = per_message(retrieved)


def index_sizes(clusters: list[Cluster], backing: Backing) -> list[str]:
    """Notes per PostgreSQL configuration: index bytes per stored message, one object's
    header."""
    out = []
    for cluster in clusters:
        if cluster.backing is None:
            continue
        try:
            count, size = backing.index_size(cluster.nodes[0].env["GATEWAY_STORAGE__INDEX"])
        except Exception as exc:
            out.append(f"scale-out, {cluster.label}: index size not read: {exc}"[:300])
            continue
        out.append(
            f"scale-out, {cluster.label}: the index's messages table (with its indexes)"
            f" holds {count} messages in {size / 2**20:.1f} MiB,"
            f" {size / max(count, 1):.0f} bytes per message"
        )
        out.append(at_rest(cluster, backing))
    return out


def at_rest(cluster: Cluster, backing: Backing) -> str:
    """Whether one stored object really is an age file (as the main phases check DATA)."""
    try:
        found = backing.first_object_head(cluster.nodes[0].env["GATEWAY_STORAGE__BLOBS"])
    except Exception as exc:
        return f"scale-out, {cluster.label}: at rest, no object read: {exc}"[:300]
    if found is None:
        return f"scale-out, {cluster.label}: at rest, NO OBJECT FOUND in the bucket"
    key, head = found
    verdict = "encrypted" if head == AGE else f"NOT ENCRYPTED (starts {head!r})"
    return f"scale-out, {cluster.label}: at rest, object {key.rsplit('/', 1)[-1]} is {verdict}"


def per_message(done: dict[str, dict]) -> dict[str, dict]:
    """Adds cpu_ms_per_msg {kind: ms}, the servers' total and the load generator's,
    cores_busy (CPU seconds of servers and client per wall-clock second) and, on
    PostgreSQL, index_per_msg (commits, WAL bytes, WAL flushes)."""
    for entry in done.values():
        counters, messages = entry.get("counters", {}), entry.get("messages")
        cpu = {k[4:]: v for k, v in counters.items() if k.startswith("cpu.")}
        if cpu and messages:
            index = {k[3:]: v / messages for k, v in counters.items() if k.startswith("pg.")}
            if index:
                entry["index_per_msg"] = index
            entry["cpu_ms_per_msg"] = {k: v * 1000 / messages for k, v in cpu.items()}
            entry["total_cpu_ms_per_msg"] = sum(cpu.values()) * 1000 / messages
            client = entry.get("client_cpu_s", 0.0)
            entry["client_cpu_ms_per_msg"] = client * 1000 / messages
            if entry.get("seconds"):  # ≈ the core count: CPU-bound; well below: latency
                entry["cores_busy"] = (sum(cpu.values()) + client) / entry["seconds"]
    return done


@dataclass
class _Named:
    """What run_all.failure needs of a subject that never started."""

    label: str


def _quietly(stop: Callable[[], None]) -> None:
    try:
        stop()
    except Exception as exc:
        run_all.log(f"scale-out: stopping failed: {exc}")
