"""CPU seconds per message and per MB in the gateway's processes (developer tool).

    .venv/bin/python -m bench.cpu_cost A 0.05                 # workload, scale
    .venv/bin/python -m bench.cpu_cost B 0.1 --pop3           # also retrieve it all
    .venv/bin/python -m bench.cpu_cost A 0.05 --compare /work/main/.venv/bin/gateway

Wall-clock throughput on a shared machine says little; the CPU time the server's
processes spend on a fixed workload says much more. This starts `gateway serve` (default
settings: `serve.workers = auto`), delivers the workload over STARTTLS, and reads utime +
stime of the supervisor and of every worker from /proc before and after. With
`--compare EXE` it alternates the given gateway executable and this tree's, `--rounds`
times each, on fresh data directories, so that "before" and "after" share the machine's
background load. Not part of `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from . import load, procs
from .run_all import WORKLOADS, scaled
from .servers import Gateway


def _cpu_by_pid(gateway: Gateway) -> dict[int, float]:
    return {pid: procs.cpu_seconds(pid) for pid in gateway.pids()}


def _delta(before: dict[int, float], after: dict[int, float]) -> dict[int, float]:
    return {pid: after[pid] - before.get(pid, 0.0) for pid in after}


async def _retrieve_all(gateway: Gateway) -> tuple[load.RetrievalResult, dict[int, float]]:
    """RETR everything; CPU counted after the logins (Argon2id is not per message)."""
    counts = await load.mailbox_counts("127.0.0.1", gateway.pop3_port, gateway.logins)
    sessions = await load.open_sessions("127.0.0.1", gateway.pop3_port, gateway.logins)
    before = _cpu_by_pid(gateway)
    result = await load.retrieve(sessions, [(1, n + 1) for n in counts])
    return result, _delta(before, _cpu_by_pid(gateway))


def measure(exe: str, workload: str, scale: float, pop3: bool) -> dict:
    """One fresh gateway, one workload: CPU per process for delivery (and retrieval)."""
    tmp = Path(tempfile.mkdtemp(prefix="jg-cpu-"))
    gateway = Gateway(tmp / "data", exe=exe)
    spec = scaled(WORKLOADS[workload], scale)
    body = load.make_body(spec["size"] - 250)
    figures: dict = {"exe": exe}
    try:
        gateway.setup()
        gateway.start()
        before = _cpu_by_pid(gateway)
        result = asyncio.run(
            load.deliver(
                "127.0.0.1",
                gateway.smtp_port,
                connections=spec["connections"],
                messages=spec["messages"],
                body=body,
                rcpts=gateway.rcpts,
            )
        )
        figures["deliver"] = _figures(result, _delta(before, _cpu_by_pid(gateway)))
        if pop3:
            result, cpu = asyncio.run(_retrieve_all(gateway))
            figures["pop3"] = _figures(result, cpu)
    finally:
        gateway.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def _figures(result: load.LoadResult, cpu: dict[int, float]) -> dict:
    total = sum(cpu.values())
    return {
        "messages": result.messages,
        "mb": result.bytes / 1e6,
        "cpu_s": total,
        "ms_per_msg": total * 1000 / max(1, result.messages),
        "ms_per_mb": total * 1000 / max(1e-9, result.bytes / 1e6),
        "per_process_s": sorted((round(v, 2) for v in cpu.values()), reverse=True),
        "wall_s": result.seconds,
    }


def _line(label: str, phase: str, fig: dict) -> str:
    return (
        f"{label:>8} {phase:<7} {fig['messages']:>5} msgs {fig['mb']:8.1f} MB  "
        f"CPU {fig['cpu_s']:6.2f} s = {fig['ms_per_msg']:6.2f} ms/msg, "
        f"{fig['ms_per_mb']:6.2f} ms/MB; per process {fig['per_process_s']} "
        f"(wall {fig['wall_s']:.1f} s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=["A", "B"])
    parser.add_argument("scale", type=float, nargs="?", default=0.05)
    parser.add_argument("--pop3", action="store_true", help="also RETR everything delivered")
    parser.add_argument("--compare", metavar="EXE", help="another gateway, alternated with ours")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ours = str(procs.ROOT / ".venv/bin/gateway")
    subjects = [("before", args.compare), ("after", ours)] if args.compare else [("this", ours)]
    runs: dict[str, list[dict]] = {label: [] for label, _ in subjects}
    for round_no in range(args.rounds):
        order = subjects if round_no % 2 == 0 else subjects[::-1]
        for label, exe in order:
            figures = measure(exe, args.workload, args.scale, args.pop3)
            runs[label].append(figures)
            for phase in ("deliver", "pop3"):
                if phase in figures:
                    print(_line(label, phase, figures[phase]), flush=True)
    for label, figures_list in runs.items():
        for phase in ("deliver", "pop3"):
            values = [f[phase]["ms_per_msg"] for f in figures_list if phase in f]
            if values:
                print(
                    f"{label}: {phase} median {statistics.median(values):.2f} ms CPU/msg "
                    f"over {len(values)} runs"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
