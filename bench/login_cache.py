"""Unlock-cache benchmark: N mailboxes each logging in over POP3 twice, 5 minutes apart.

    .venv/bin/python -m bench.login_cache          # N = 1000 (BENCH_LOGIN_MAILBOXES)

Mailboxes are created with the production Argon2id parameters (the default config),
through the store as `gateway mailbox create` does, in a process pool (one Argon2id run
each). Then `gateway serve --workers 1` (the cache is per worker) with default settings:
round 1 logs every mailbox in once (a cache miss: one Argon2id unlock), round 2 logs
every one in again. The 5 minutes between are simulated: the default
`login.unlock_cache_ttl` (900 s) counts from the mailbox's last login, so any repeat
login up to 900 s later is served the same way; round 2 starts as soon as round 1 ends.
Reported: p50/p99 of each round, the server's RSS before and after each round, and the
bytes one cache entry holds (tracemalloc, in this process). With Dovecot available
(bench/dovecot.py, root) and without BENCH_NO_DOVECOT, its POP3 login latency too.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import dovecot as dovecot_mod
from . import load, procs
from .run_all import make_cert
from .servers import DOMAIN, Gateway

MAILBOXES = int(os.environ.get("BENCH_LOGIN_MAILBOXES", "1000"))
CONCURRENCY = int(os.environ.get("BENCH_LOGIN_CONCURRENCY", "2"))  # = the cores here


def log(text: str) -> None:
    print(f"[login_cache {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _open(data: Path):
    from gateway.config import load_settings
    from gateway.store_factory import open_configured_store

    return open_configured_store(data, load_settings(environ={}))


def _create(data: str, count: int) -> list[tuple[str, str]]:
    """In a pool worker: `count` mailboxes with the configured (production) Argon2id."""
    store = _open(Path(data))
    try:
        made = [store.mailboxes.create(DOMAIN, actor=None) for _ in range(count)]
        return [(box.address, passphrase) for box, passphrase in made]
    finally:
        store.close()


def create_mailboxes(data: Path, total: int) -> list[tuple[str, str]]:
    gateway = Gateway(data, mailboxes=0)
    gateway.setup()  # the domain, through the CLI (and the data directory's keys)
    chunks = [total // CONCURRENCY + (i < total % CONCURRENCY) for i in range(CONCURRENCY)]
    with ProcessPoolExecutor(CONCURRENCY) as pool:
        parts = list(pool.map(_create, [str(data)] * len(chunks), chunks))
    return [login for part in parts for login in part]


def entry_bytes(data: Path, logins: list[tuple[str, str]], sample: int = 10) -> float:
    """Bytes one cache entry keeps alive: `sample` real unlocks put into an UnlockCache."""
    from gateway.unlock_cache import UnlockCache

    store = _open(data)
    cache = UnlockCache(size=sample, ttl=900)
    try:
        address, passphrase = logins[sample]
        store.keys.unlock(address, passphrase)  # warm-up: lazy imports and caches
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for n, (address, passphrase) in enumerate(logins[:sample]):
            cache.put(store.keys.unlock(address, passphrase), passphrase, f"state{n}")
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        return grown / sample
    finally:
        store.close()


async def login_round(port: int, logins: list[tuple[str, str]]) -> list[float]:
    """Every login once, CONCURRENCY at a time: seconds from connect to +OK after PASS."""
    queue = list(reversed(logins))
    times: list[float] = []

    async def client() -> None:
        while queue:
            user, passphrase = queue.pop()
            t0 = time.perf_counter()
            session = await load.Pop3.login("127.0.0.1", port, user, passphrase)
            times.append(time.perf_counter() - t0)
            await session.quit()

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return times


def summary(times: list[float]) -> dict:
    ms = sorted(t * 1000 for t in times)
    return {
        "logins": len(ms),
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        "max_ms": ms[-1],
        "wall_s": sum(times) / CONCURRENCY,
    }


def rss_mib(gateway: Gateway) -> float:
    return sum(procs.status_kib(pid, "VmRSS") for pid in gateway.pids()) / 1024


async def _dovecot_logins(lmtp: int, pop3: int, user: str, password: str) -> dict:
    """One message first (the maildir must exist), then 20 POP3 logins in a row."""
    body = load.make_body(1000)
    await load.deliver(
        "127.0.0.1", lmtp, connections=1, messages=1, body=body, rcpts=[user], lmtp=True
    )
    return await load.login_latency("127.0.0.1", pop3, user, password, 20)


def dovecot_latency(tmp: Path) -> dict | None:
    why = dovecot_mod.available()
    if os.environ.get("BENCH_NO_DOVECOT") or why:
        log(f"Dovecot skipped: {why or 'BENCH_NO_DOVECOT'}")
        return None
    cert, key = make_cert(tmp)
    dove = dovecot_mod.Dovecot(tmp / "dovecot", cert, key, ["user0@example.test"])
    dove.start()
    try:
        user = dove.users[0]
        return asyncio.run(load.login_latency("127.0.0.1", dove.port_pop3, user, dove.password, 20))
    finally:
        dove.stop()


def run(tmp: Path) -> dict:
    data = tmp / "gateway-data"
    log(f"creating {MAILBOXES} mailboxes (production Argon2id, {CONCURRENCY} processes)")
    t0 = time.monotonic()
    logins = create_mailboxes(data, MAILBOXES)
    results: dict = {"mailboxes": MAILBOXES, "concurrency": CONCURRENCY}
    results["create_s"] = time.monotonic() - t0
    results["entry_bytes"] = entry_bytes(data, logins)
    gateway = Gateway(data, mailboxes=0, extra_args=["--workers", "1"])
    gateway.start()
    try:
        results["rss_start_mib"] = rss_mib(gateway)
        for name in ("first", "repeat"):
            log(f"round {name}: {len(logins)} POP3 logins")
            results[name] = summary(asyncio.run(login_round(gateway.pop3_port, logins)))
            results[name]["rss_after_mib"] = rss_mib(gateway)
            log(f"  {json.dumps(results[name])}")
    finally:
        gateway.stop()
    results["dovecot"] = dovecot_latency(tmp)
    return results


def report(r: dict) -> str:
    rows = [
        f"Unlock cache: {r['mailboxes']} mailboxes, POP3 (STLS) logins {r['concurrency']}"
        " at a time, one gateway worker",
        "",
        "| round | p50 ms | p99 ms | max ms | server RSS after (MiB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in ("first", "repeat"):
        s = r[name]
        rows.append(
            f"| {name} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f}"
            f" | {s['rss_after_mib']:.1f} |"
        )
    rows.append("")
    rows.append(f"Server RSS at start: {r['rss_start_mib']:.1f} MiB")
    rows.append(f"One cache entry: about {r['entry_bytes']:.0f} bytes (tracemalloc)")
    rows.append(f"Creating the mailboxes took {r['create_s']:.0f} s")
    if r["dovecot"]:
        d = r["dovecot"]
        rows.append(
            f"Dovecot POP3 login: median {d['median_ms']:.1f} ms (min {d['min_ms']:.1f},"
            f" max {d['max_ms']:.1f}, {d['rounds']} in a row)"
        )
    return "\n".join(rows)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="login-cache-", dir=os.environ.get("BENCH_TMP")) as d:
        Path(d).chmod(0o711)  # Dovecot's unprivileged processes must traverse it
        results = run(Path(d))
    out = procs.ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    (out / "login_cache.json").write_text(json.dumps(results, indent=2))
    print(report(results))


if __name__ == "__main__":
    main()
