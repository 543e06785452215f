"""The mailbox list at scale: server time of the console list page and the API list.

    .venv/bin/python -m bench.console_list [--before /work/main] [--mailboxes 10000]
        [--messages 1000000] [--requests 240] [--before-requests 3]

Per source tree (this one, and the `--before` tree when given), in a child process: a
fresh data directory whose index is filled directly through SQLite in bulk (domains,
mailboxes with their addresses and a key-epoch row, message rows spread over 30 days;
no message files and no encryption, which a list never touches), then the real web app
(web.create_app over the real store) on an in-process aiohttp server on 127.0.0.1. A
middleware outermost in the app times each request from arrival to the response being
ready: that is the "server time" reported (the client's round trip is printed too).

Requests cycle through pages, page sizes (50/200), every sort and direction, searches,
status and domain filters (console), and cursor paging (API). The `--before` tree is
measured with `--before-requests` requests of its list (every row on one page).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
DOMAINS = 20
DAY = 86400.0
SORTS = ("name", "domain", "status", "messages", "bytes", "last_login", "received_24h")
STATUSES = ("active", "active", "active", "hold", "receive-only", "disabled")


def use_tree(tree: Path) -> None:
    """Import `gateway`, `storage` and `web` from `tree`, not from the editable install."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, str(tree))


def build(data_dir: Path, mailboxes: int, messages: int) -> float:
    """Fill a fresh index in bulk; returns the seconds it took."""
    import random
    import time

    from storage import open_store

    started = time.perf_counter()
    store = open_store(data_dir, disk_reserve=0)
    store.close()
    import sqlite3

    conn = sqlite3.connect(data_dir / "gateway.db", isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(17)
    now = time.time()
    per_box = messages // mailboxes
    conn.execute("BEGIN")
    domains = [f"customer{d:02d}.example" for d in range(DOMAINS)]
    conn.executemany("INSERT INTO domains VALUES (?, ?)", [(d, now) for d in domains])
    boxes = []
    for n in range(mailboxes):
        box_id = f"mbx{n:06d}"
        domain = domains[n % DOMAINS]
        last = now - rng.uniform(0, 40 * DAY) if n % 3 else None
        sealed = n % 50 == 0
        boxes.append((box_id, domain, last, sealed))
        conn.execute(
            "INSERT INTO mailboxes(id, domain, name, description, status, uidvalidity, next_uid,"
            " message_count, stored_bytes, created, last_login, passphrase_set_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                box_id,
                domain,
                f"Journal {rng.choice('ABCDEFGHJK')}{n:05d}",
                f"archive of customer {n % DOMAINS} team {n % 97}",
                STATUSES[n % len(STATUSES)],
                1,
                per_box + 1,
                per_box,
                per_box * 30_000,
                now - (mailboxes - n),
                last,
                now,
            ),
        )
        conn.execute("INSERT INTO addresses VALUES (?,?,1)", (f"{box_id}@{domain}", box_id))
        if n % 4 == 0:
            conn.execute("INSERT INTO addresses VALUES (?,?,0)", (f"j{n}@{domain}", box_id))
        for epoch, state in ((1, "sealed"), (2, "current")) if sealed else ((1, "current"),):
            conn.execute(
                "INSERT INTO epochs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (box_id, epoch, "x25519", "age1bench", state, b"s", b"n", b"c", 8, 1, 1, now),
            )

    def rows():
        for box_id, _, _, sealed in boxes:
            for uid in range(1, per_box + 1):
                epoch = 1 if sealed and uid % 2 else (2 if sealed else 1)
                yield (
                    f"{box_id}-{uid}",
                    box_id,
                    uid,
                    epoch,
                    30_000,
                    30_000,
                    now - rng.uniform(0, 30 * DAY),
                    "",
                    "zstd",
                    f"blobs/{box_id}/{uid}",
                    "0" * 64,
                )

    conn.executemany("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows())
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def console_paths(count: int, mailboxes: int) -> list[str]:
    """`count` console list URLs across pages, sizes, sorts, searches and filters."""
    paths = []
    for n in range(count):
        size = (50, 200)[n % 2]
        pages = max(1, mailboxes // size)
        params = [f"size={size}", f"page={1 + (n * 37) % pages}"]
        params.append(f"sort={SORTS[n % len(SORTS)]}")
        if n % 3 == 0:
            params.append("dir=desc")
        if n % 5 == 1:
            params.append(f"q=team+{n % 97}")
        if n % 7 == 2:
            params.append(f"q=j{(n * 4) % mailboxes}@")
        if n % 6 == 3:
            params.append("status=hold")
        if n % 4 == 1:
            params.append(f"domain=customer{n % DOMAINS:02d}.example")
        paths.append("/mailboxes?" + "&".join(params))
    return paths


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def child(mailboxes: int, messages: int, requests: int, old: bool) -> dict:
    import asyncio
    import re
    import tempfile
    import time

    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from storage import open_store
    from storage.async_store import AsyncStore
    from web import create_app
    from web.options import WebOptions

    timings: list[float] = []

    @web.middleware
    async def timed(request, handler):
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            timings.append(time.perf_counter() - started)

    async def measure(client: TestClient, paths: list[str], headers: dict) -> dict:
        timings.clear()
        trips = []
        for path in paths:
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            body = await response.read()
            trips.append(time.perf_counter() - started)
            assert response.status == 200, (path, response.status, body[:200])
        server = list(timings)
        return {
            "requests": len(paths),
            "p50_ms": round(percentile(server, 0.5) * 1000, 1),
            "p99_ms": round(percentile(server, 0.99) * 1000, 1),
            "max_ms": round(max(server) * 1000, 1),
            "round_trip_p50_ms": round(percentile(trips, 0.5) * 1000, 1),
        }

    async def api_paths(client: TestClient, headers: dict, count: int) -> list[str]:
        """Cursor chains: first pages of each sort, then their next pages."""
        paths = []
        for n in range(count):
            sort = SORTS[n % len(SORTS)]
            path = f"/api/v1/mailboxes?limit={(50, 200)[n % 2]}&sort={sort}"
            if n % 3 == 0:
                path += "&dir=desc"
            if n % 4 == 1:
                path += f"&domain=customer{n % DOMAINS:02d}.example"
            if n % 2 and paths:
                response = await client.get(paths[-1], headers=headers)
                cursor = (await response.json())["next_cursor"]
                if cursor:
                    path = paths[-1].split("&cursor=")[0] + f"&cursor={cursor}"
            paths.append(path)
        return paths

    async def run(data_dir: Path) -> dict:
        store = open_store(data_dir, disk_reserve=0)
        _, password = store.admins.create("bench")
        _, token = store.tokens.create("bench", "bench")
        astore = AsyncStore(store)
        app = create_app(astore, WebOptions(data_dir=data_dir, secure_cookies=False))
        app.middlewares.insert(0, timed)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            page = await client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', await page.text())[1]
            form = {"username": "bench", "password": password, "csrf_token": csrf}
            signed = await client.post("/login", data=form, allow_redirects=False)
            assert signed.status == 303, signed.status
            bearer = {"Authorization": f"Bearer {token}"}
            if old:
                return {
                    "console": await measure(client, ["/mailboxes"] * requests, {}),
                    "api": await measure(client, ["/api/v1/mailboxes"] * requests, bearer),
                }
            await measure(client, console_paths(5, mailboxes), {})  # warm the caches
            return {
                "console": await measure(client, console_paths(requests, mailboxes), {}),
                "api": await measure(client, await api_paths(client, bearer, requests), bearer),
            }
        finally:
            await client.close()
            astore.close()

    with tempfile.TemporaryDirectory(prefix="bench-list-") as tmp:
        data_dir = Path(tmp) / "data"
        seconds = build(data_dir, mailboxes, messages)
        result = asyncio.run(run(data_dir))
    return {"build_seconds": round(seconds, 1), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="also measure this source tree (old list)")
    parser.add_argument("--mailboxes", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=240)
    parser.add_argument("--before-requests", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        use_tree(Path(args.child))
        old = args.child != str(HERE)
        count = args.before_requests if old else args.requests
        print(json.dumps(child(args.mailboxes, args.messages, count, old)))
        return
    trees = [HERE] + ([args.before.resolve()] if args.before else [])
    results = {}
    for tree in trees:
        print(f"measuring {tree} ...", file=sys.stderr)
        command = [sys.executable, "-m", "bench.console_list", "--child", str(tree)]
        command += ["--mailboxes", str(args.mailboxes), "--messages", str(args.messages)]
        command += ["--requests", str(args.requests)]
        command += ["--before-requests", str(args.before_requests)]
        out = subprocess.run(command, cwd=HERE, check=True, capture_output=True, text=True)
        results[str(tree)] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{args.mailboxes} mailboxes, {args.messages} message rows")
    for tree, result in results.items():
        print(f"\n{tree}  (index built in {result['build_seconds']} s)")
        for face in ("console", "api"):
            r = result[face]
            print(
                f"  {face:8} {r['requests']:4} requests  server p50 {r['p50_ms']} ms"
                f"  p99 {r['p99_ms']} ms  max {r['max_ms']} ms"
                f"  (round trip p50 {r['round_trip_p50_ms']} ms)"
            )
    mine = results[str(HERE)]
    ok = all(mine[f]["p50_ms"] < 100 and mine[f]["p99_ms"] < 250 for f in ("console", "api"))
    print(f"\ntarget < 100 ms p50, < 250 ms p99: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
