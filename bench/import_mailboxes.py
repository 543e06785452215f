"""Bulk onboarding: time per mailbox of `gateway mailbox import` against one
`gateway mailbox create` per mailbox, with the production Argon2id parameters.

    .venv/bin/python -m bench.import_mailboxes                 # 1,000 imported, 50 created
    .venv/bin/python -m bench.import_mailboxes --count 100 --sample 10 --jobs 2

The one-at-a-time side runs `--sample` creates (each a new process, as a script calling
the CLI in a loop would) and extrapolates to `--count`; the output says so. Each side
gets a fresh data directory with default settings (64 MiB, 3 iterations, mlkem768x25519).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = Path(sys.executable).parent / "gateway"
DOMAIN = "bench.test"


def _gateway(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATA"] = str(data_dir)
    done = subprocess.run(
        [str(GATEWAY), *args], env=env, capture_output=True, text=True, timeout=7200
    )
    if done.returncode != 0:
        raise RuntimeError(f"gateway {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done


def _fresh(parent: Path, name: str) -> Path:
    data_dir = parent / name
    _gateway(data_dir, "domain", "add", DOMAIN)
    return data_dir


def time_import(parent: Path, count: int, jobs: int | None) -> float:
    """Seconds for one `gateway mailbox import` of `count` rows."""
    data_dir = _fresh(parent, "import")
    source = parent / "mailboxes.csv"
    rows = [f"Customer {n},{DOMAIN},c{n}@{DOMAIN},1 GiB" for n in range(count)]
    source.write_text("name,domain,aliases,quota\n" + "\n".join(rows) + "\n")
    extra = ["--jobs", str(jobs)] if jobs else []
    start = time.perf_counter()
    done = _gateway(
        data_dir, "mailbox", "import", str(source), "--out", str(parent / "p.csv"), "--json", *extra
    )
    elapsed = time.perf_counter() - start
    assert json.loads(done.stdout)["created"] == count
    return elapsed


def time_creates(parent: Path, sample: int) -> float:
    """Seconds for `sample` runs of `gateway mailbox create`, one after the other."""
    data_dir = _fresh(parent, "create")
    start = time.perf_counter()
    for n in range(sample):
        _gateway(
            data_dir, "mailbox", "create", "--domain", DOMAIN, "--name", f"Customer {n}",
            "--alias", f"c{n}@{DOMAIN}", "--quota", "1G", "--json",
        )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="mailboxes imported")
    parser.add_argument("--sample", type=int, default=50, help="mailboxes created one by one")
    parser.add_argument("--jobs", type=int, default=None, help="--jobs of the import")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        parent = Path(tmp)
        imported = time_import(parent, args.count, args.jobs)
        created = time_creates(parent, args.sample)
    per_import = imported / args.count
    per_create = created / args.sample
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print(f"import {args.count}: {imported:.1f} s, {per_import * 1000:.0f} ms per mailbox")
    print(
        f"create x {args.sample}: {created:.1f} s, {per_create * 1000:.0f} ms per mailbox"
        f" (x {args.count} extrapolated: {per_create * args.count:.0f} s)"
    )
    print(f"ratio: one-at-a-time / import = {per_create / per_import:.1f}")


if __name__ == "__main__":
    main()
