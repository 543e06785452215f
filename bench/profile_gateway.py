"""Profile the gateway under one workload with py-spy (a developer tool, not `make bench`).

    .venv/bin/pip install py-spy        # for your own use; not a project dependency
    .venv/bin/python -m bench.profile_gateway A 0.1    # workload, scale
    .venv/bin/python -m bench.profile_gateway pop3_A 0.1

Writes bench/results/profile-<workload>.txt (collapsed stacks, flamegraph.pl input) and
prints the functions and lines with the most samples, self and inclusive, per thread
kind (event loop vs store pool). Needs ptrace rights (root, or ptrace_scope 0).
"""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import load, procs
from .run_all import WORKLOADS, scaled
from .servers import Gateway

RESULTS = procs.ROOT / "bench" / "results"
# BENCH_PROFILE_GIL=1: sample only the thread holding the GIL (Python CPU hot spots)
GIL = ["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else []


def main() -> int:
    workload = sys.argv[1] if len(sys.argv) > 1 else "A"
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    pyspy = shutil.which("py-spy") or str(procs.ROOT / ".venv/bin/py-spy")
    if not os.path.exists(pyspy):
        raise SystemExit("py-spy not found: .venv/bin/pip install py-spy")
    tmp = Path(tempfile.mkdtemp(prefix="jg-profile-"))
    out = RESULTS / f"profile-{workload}{'-gil' if GIL else ''}.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    gateway = Gateway(tmp / "data")
    spy = None
    try:
        gateway.setup()
        gateway.start()
        base = workload.removeprefix("pop3_")
        spec = scaled(WORKLOADS[base], scale)
        body = load.make_body(spec["size"] - 250)
        kwargs = {"connections": spec["connections"], "messages": spec["messages"]}
        if workload.startswith("pop3_"):
            asyncio.run(
                load.deliver(
                    "127.0.0.1", gateway.smtp_port, body=body, rcpts=gateway.rcpts, **kwargs
                )
            )
        spy = subprocess.Popen(
            [
                pyspy,
                "record",
                "-p",
                str(gateway.proc.pid),
                "-r",
                "200",
                "--threads",
                "--nonblocking",
                "--subprocesses",
                *GIL,
                "-f",
                "raw",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if workload.startswith("pop3_"):
            result = asyncio.run(_retrieve_all(gateway))
        else:
            result = asyncio.run(
                load.deliver(
                    "127.0.0.1", gateway.smtp_port, body=body, rcpts=gateway.rcpts, **kwargs
                )
            )
        print(result.summary())
    finally:
        gateway.stop()  # py-spy ends with its target
        if spy is not None:
            spy.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
    summarize(out)
    return 0


async def _retrieve_all(gateway: Gateway) -> load.RetrievalResult:
    counts = await load.mailbox_counts("127.0.0.1", gateway.pop3_port, gateway.logins)
    ranges = [(1, n + 1) for n in counts]
    sessions = await load.open_sessions("127.0.0.1", gateway.pop3_port, gateway.logins)
    return await load.retrieve(sessions, ranges)


# (what a frame's text contains, the cost it is counted under); the leaf-most match wins
COSTS = [
    ("compress (", "zstd compression"),
    ("decompress", "zstd decompression"),
    ("zstandard", "zstd"),
    ("message_file.py", "zstd (message_file)"),
    ("storage/age/stream.py", "ChaCha20-Poly1305 (age STREAM)"),
    ("storage/age/recipients.py", "age key wrap (ML-KEM-768 + X25519)"),
    ("storage/age/", "age header"),
    ("fsync", "fsync (file, directory)"),
    ("blobs.py", "file write + SHA-256"),
    ("storage/sqlite/", "SQLite"),
    ("group_commit.py", "group commit"),
    ("gateway/smtp/data_stream.py", "DATA scanning"),
    ("gateway/smtp/trace.py", "trace header"),
    ("relay", "relay-copy check"),
    ("gateway/pop3/", "POP3 session"),
    ("gateway/retrieval/", "retrieval"),
    ("ssl.py", "TLS"),
    ("sslproto.py", "TLS"),
    ("aiosmtpd", "SMTP session/parsing (aiosmtpd)"),
    ("gateway/smtp/", "SMTP session (gateway)"),
    ("concurrent/futures", "thread-pool hops"),
    ("threading.py", "thread-pool hops"),
    ("logging", "logging"),
    ("asyncio", "event loop"),
]


def _cost(frames: list[str]) -> str:
    for frame in reversed(frames):
        for needle, cost in COSTS:
            if needle in frame:
                return cost
    return "other"


def summarize(path: Path, top: int = 25) -> None:
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    costs: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        # --subprocesses prefixes "process PID:cmdline" frames (cmdlines may hold ";")
        starts = [i for i, f in enumerate(frames) if f.startswith("thread (")]
        frames = frames[starts[0] :] if starts else frames
        thread = frames[0]
        kind = (
            "store pool"
            if "store" in thread
            else "event loop"
            if "MainThread" in thread or "process" in thread
            else thread.split("(")[0].strip()
        )
        threads[kind] += n
        total += n
        frames = frames[1:]
        if frames:
            self_time[f"[{kind}] {frames[-1]}"] += n
        for frame in set(frames):
            inclusive[f"[{kind}] {frame}"] += n
        costs[_cost(frames)] += n
    print(
        f"\n{total} samples; by thread: "
        + ", ".join(f"{k} {v * 100 / total:.0f}%" for k, v in threads.most_common())
    )
    print("\nby cost (leaf-most matching frame):")
    for cost, n in costs.most_common():
        print(f"  {n * 100 / total:5.1f}%  {cost}")
    for title, counter in (("self", self_time), ("inclusive", inclusive)):
        print(f"\ntop {top} by {title} samples:")
        for frame, n in counter.most_common(top):
            print(f"  {n * 100 / total:5.1f}%  {frame}")


if __name__ == "__main__":
    sys.exit(main())
