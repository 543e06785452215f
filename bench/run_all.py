"""`make bench`: the gateway side by side with its baselines, in one run (DESIGN §8).

Subjects, all on 127.0.0.1, STARTTLS/STLS on every connection, 4 mailboxes:
  * gateway         — `gateway serve` (SMTP in, POP3 out), fresh data directory;
  * aiosmtpd+fsync  — bench/baseline_smtpd.py: bare aiosmtpd writing plaintext + fsync;
  * Dovecot         — LMTP (STARTTLS) delivery into maildirs encrypted by mail_crypt,
                      POP3 (STLS) out; only when Debian's Dovecot packages are installed
                      and we run as root (bench/dovecot.py).

Phases (each subject in turn, never two at once; `sync` before each measurement; the
throughput phases are split into BENCH_ROUNDS rounds with the subjects in rotating
order, so drifting background load on a shared machine hits every subject alike):
  mem    8 concurrent 100 MiB messages: server peak RSS growth (VmHWM after − VmRSS
         before), first, on fresh servers; then one 100 MiB POP3 RETR, same measure
  A      8 connections × 2000 messages × 64 KiB
  B      4 connections × 80 messages × 5 MiB
  pop3   retrieval of all of A, then all of B (4 sessions at once, one per mailbox;
         logins happen before the clock and the CPU reading start)
  login  POP3 login latency (connect + STLS + USER/PASS), median of several
  workers  workloads A and B against `gateway serve --workers 2` and a fresh
           single-process gateway, alternating (when that option works)
  scaleout A, B and POP3 retrieval on 1 node SQLite, 1 node PostgreSQL + S3 and 2 nodes
           on PostgreSQL + S3 behind HAProxy, CPU per process kind (bench/scaleout.py)

Environment:
  BENCH_SCALE=0.1     scale message counts (default 1.0; memory phase is never scaled)
  BENCH_ONLY=A,pop3   run only some phases (mem, A, B, pop3, login, workers, scaleout; pop3
                      retrieves what A and/or B delivered in the same run)
  BENCH_ROUNDS=3      rounds per throughput phase (subjects alternate, rotating order)
  BENCH_NO_DOVECOT=1  skip the Dovecot baseline
  BENCH_GATEWAY=EXE   benchmark another gateway executable (an experiment's wrapper)
  BENCH_KEEP=1        keep the temporary directory (printed) for inspection
  BENCH_TMP=DIR       where the temporary directory goes (default: the system's)
  BENCH_TIMEOUT=10800 seconds after which the whole run stops (servers stopped, tmp gone)

Writes bench/results/latest.json and bench/results/latest.md, prints the tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import dovecot as dovecot_mod
from . import load, procs
from .report import render
from .servers import Baseline, Gateway

MiB = 1024 * 1024
RESULTS = procs.ROOT / "bench" / "results"
LOGIN_ROUNDS = 7
PHASES = ("mem", "A", "B", "pop3", "login", "workers", "scaleout")

WORKLOADS = {
    "A": {"connections": 8, "messages": 2000, "size": 64 * 1024},
    "B": {"connections": 4, "messages": 80, "size": 5 * MiB},
    "mem": {"connections": 8, "messages": 1, "size": 100 * MiB},
}


def log(text: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {text}", file=sys.stderr, flush=True)


# --- measurement ---------------------------------------------------------------------------
class RssSampler(threading.Thread):
    """Polls the summed VmRSS of a subject's processes: a cross-check of VmHWM."""

    def __init__(self, subject: Any, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.subject, self.interval = subject, interval
        self.peak_kib = 0
        self._halt = threading.Event()
        self._pids: list[int] = subject.pids()
        self._refreshed = time.monotonic()

    def run(self) -> None:
        while not self._halt.is_set():
            if time.monotonic() - self._refreshed > 0.5:
                self._pids, self._refreshed = self.subject.pids(), time.monotonic()
            total = sum(procs.status_kib(pid, "VmRSS") for pid in self._pids)
            self.peak_kib = max(self.peak_kib, total)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


@contextlib.contextmanager
def measured(subject: Any) -> Iterator[dict]:
    """Server-side figures of one phase: RSS before, peak (VmHWM), growth, CPU seconds."""
    os.sync()  # the previous subject's dirty pages are not this one's problem
    time.sleep(0.5)
    pids = subject.pids()
    reset_ok = all([procs.reset_peak(pid) for pid in pids])
    before = sum(procs.status_kib(pid, "VmRSS") for pid in pids)
    cpu0 = sum(procs.cpu_seconds(pid, children=True) for pid in pids)
    counters = getattr(subject, "counters", None)  # a scale-out cluster's CPU by kind, ...
    counted = counters() if counters else {}
    sampler = RssSampler(subject)
    sampler.start()
    stats: dict = {}
    try:
        yield stats
    finally:
        sampler.stop()
        after = subject.pids()
        if not after:
            stats["server_error"] = "server process gone"
        hwm = sum(procs.status_kib(pid, "VmHWM") for pid in after)
        if not reset_ok:
            hwm = sampler.peak_kib  # VmHWM is the lifetime peak then: use the samples
        stats.update(
            processes=len(after),
            rss_before_mib=before / 1024,
            peak_rss_mib=hwm / 1024,
            peak_growth_mib=(hwm - before) / 1024,
            sampled_peak_mib=sampler.peak_kib / 1024,
            peak_reset=reset_ok,
            server_cpu_s=sum(procs.cpu_seconds(pid, children=True) for pid in after) - cpu0,
        )
        if counters:
            stats["counters"] = {k: v - counted.get(k, 0.0) for k, v in counters().items()}


def phase_timeout(connections: int, messages: int, size: int) -> float:
    """Generous but bounded: 120 s plus 1 MB/s for the round's bytes."""
    return 120.0 + connections * messages * size / 1e6


@dataclass
class Subject:
    """One server as one phase sees it."""

    key: str  # "gateway", "baseline", "dovecot": the column in the report
    server: Any  # Gateway, Baseline or Dovecot: label, pids(), log_tail()
    port: int
    rcpts: list[str] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    lmtp: bool = False


def merge_stats(parts: list[dict]) -> dict:
    """Server figures over several rounds: peaks are maxima, CPU adds up."""
    out = dict(parts[0])
    for key in ("peak_rss_mib", "peak_growth_mib", "sampled_peak_mib", "processes"):
        out[key] = max(p[key] for p in parts)
    out["server_cpu_s"] = sum(p["server_cpu_s"] for p in parts)
    out["peak_reset"] = all(p["peak_reset"] for p in parts)
    if "counters" in out:
        out["counters"] = {k: sum(p["counters"][k] for p in parts) for k in out["counters"]}
    return out


def merge_results(results: list[Any]) -> Any:
    total = type(results[0])()
    for r in results:
        total.messages += r.messages
        total.bytes += r.bytes
        total.seconds += r.seconds
        total.client_cpu += r.client_cpu
        total.latencies.extend(r.latencies)
    return total


def split(total: int, rounds: int, index: int) -> tuple[int, int]:
    """(offset, count) of round `index` when `total` items are spread over `rounds`."""
    base, extra = divmod(total, rounds)
    return index * base + min(index, extra), base + (1 if index < extra else 0)


async def delivery_phase(
    subjects: list[Subject], spec: dict, body: bytes, rounds: int, cleanup: Any = None
) -> dict[str, dict]:
    """`rounds` rounds; in each, every subject gets its share, in a rotating order, so
    that changing background load on a shared machine hits every subject alike."""
    conns = spec["connections"]
    parts: dict[str, list] = {s.key: [] for s in subjects}
    done: dict[str, dict] = {}
    for index in range(rounds):
        _, count = split(spec["messages"], rounds, index)
        if not count:
            continue
        shift = index % len(subjects)
        for subject in subjects[shift:] + subjects[:shift]:
            if subject.key in done:
                continue
            label, kib = subject.server.label, spec["size"] // 1024
            log(f"  round {index + 1}/{rounds} {label}: {conns} × {count} × {kib} KiB")
            try:
                with measured(subject.server) as stats:
                    result = await asyncio.wait_for(
                        load.deliver(
                            "127.0.0.1",
                            subject.port,
                            connections=conns,
                            messages=count,
                            body=body,
                            rcpts=subject.rcpts,
                            lmtp=subject.lmtp,
                        ),
                        phase_timeout(conns, count, spec["size"]),
                    )
            except Exception as exc:  # one subject failing must not end the run
                done[subject.key] = failure(subject.server, exc)
                continue
            s = result.summary()
            log(
                f"    {s['msgs_per_s']:.1f} msg/s, {s['mb_per_s']:.1f} MB/s, "
                f"p99 {s['p99_ms']:.0f} ms, peak RSS {stats['peak_rss_mib']:.0f} MiB "
                f"(+{stats['peak_growth_mib']:.0f}), server CPU {stats['server_cpu_s']:.1f} s"
            )
            parts[subject.key].append((result, stats))
        if cleanup is not None:
            cleanup()
    for subject in subjects:
        if subject.key not in done and parts[subject.key]:
            results, stats = zip(*parts[subject.key], strict=True)
            entry = done[subject.key] = {
                **merge_results(list(results)).summary(),
                **merge_stats(list(stats)),
                "rounds_msgs_per_s": [round(r.summary()["msgs_per_s"], 2) for r in results],
            }
            # the figure that sizes an MSP's hardware: server CPU per GB of mail taken in
            entry["cpu_s_per_gb"] = entry["server_cpu_s"] / (entry["bytes"] / 1e9)
    return done


async def retrieval_phase(
    subjects: list[Subject], before: dict[str, list[int]], rounds: int
) -> dict[str, dict]:
    """POP3: every message delivered since `before` (STAT counts), 4 sessions at once,
    in `rounds` rotating rounds like delivery_phase."""
    after: dict[str, list[int]] = {}
    done: dict[str, dict] = {}
    for subject in subjects:
        try:
            after[subject.key] = await load.mailbox_counts(
                "127.0.0.1", subject.port, subject.logins
            )
        except Exception as exc:
            done[subject.key] = failure(subject.server, exc)
    parts: dict[str, list] = {s.key: [] for s in subjects}
    for index in range(rounds):
        shift = index % len(subjects)
        for subject in subjects[shift:] + subjects[:shift]:
            if subject.key in done:
                continue
            ranges = []
            for first, last in zip(before[subject.key], after[subject.key], strict=True):
                offset, count = split(last - first, rounds, index)
                ranges.append((first + offset + 1, first + offset + count + 1))
            log(
                f"  round {index + 1}/{rounds} {subject.server.label}: POP3, "
                f"{len(ranges)} sessions, {sum(b - a for a, b in ranges)} messages"
            )
            try:  # logins (Argon2id for the gateway) are outside the clock and the CPU figure
                sessions = await load.open_sessions("127.0.0.1", subject.port, subject.logins)
                with measured(subject.server) as stats:
                    result = await asyncio.wait_for(load.retrieve(sessions, ranges), 3600.0)
            except Exception as exc:
                done[subject.key] = failure(subject.server, exc)
                continue
            log(f"    {result.summary()['mb_per_s']:.1f} MB/s")
            parts[subject.key].append((result, stats))
    for subject in subjects:
        if subject.key not in done and parts[subject.key]:
            results, stats = zip(*parts[subject.key], strict=True)
            done[subject.key] = {
                **merge_results(list(results)).summary(),
                **merge_stats(list(stats)),
                "rounds_mb_per_s": [round(r.summary()["mb_per_s"], 2) for r in results],
            }
    return done


async def big_retr(subject: Subject) -> dict:
    """Peak RSS growth while one session RETRs the first mailbox's last (100 MiB) message."""
    log(f"  {subject.server.label}: one 100 MiB POP3 RETR")
    try:
        session = await load.Pop3.login("127.0.0.1", subject.port, *subject.logins[0])
        try:
            count, _ = await session.stat()
            with measured(subject.server) as stats:
                t0 = time.perf_counter()
                size = await asyncio.wait_for(session.retr(count), 600.0)
                seconds = time.perf_counter() - t0
        finally:
            await session.quit()
        out = {"bytes": size, "seconds": seconds, "mb_per_s": size / 1e6 / seconds, **stats}
        log(f"    {size / MiB:.0f} MiB, peak RSS growth {out['peak_growth_mib']:.1f} MiB")
        return out
    except Exception as exc:
        return failure(subject.server, exc)


def failure(subject: Any, exc: BaseException) -> dict:
    text = f"{type(exc).__name__}: {exc}".strip()
    log(f"    FAILED: {text}")
    tail = getattr(subject, "log_tail", lambda: "")()
    if tail:
        log("    server log tail:\n" + tail)
    return {"error": text[:500]}


# --- the run -------------------------------------------------------------------------------
def scaled(spec: dict, scale: float) -> dict:
    return {**spec, "messages": max(1, round(spec["messages"] * scale))}


def machine() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "dovecot": _dovecot_version(),
    }


def _dovecot_version() -> str:
    with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
        done = subprocess.run(
            [dovecot_mod.DOVECOT, "--version"], capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip()
    return ""


def make_cert(directory: Path) -> tuple[Path, Path]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path


async def run(tmp: Path, scale: float, only: set[str], use_dovecot: bool, rounds: int) -> dict:
    results: dict[str, Any] = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "scale": scale,
        "rounds": rounds,
        "machine": machine(),
        "workloads": {k: scaled(v, scale) if k != "mem" else v for k, v in WORKLOADS.items()},
        "notes": [],
        "phases": {},
    }
    phases: dict[str, dict] = results["phases"]
    notes: list[str] = results["notes"]
    if only == {"scaleout"}:  # nothing else: start none of the main subjects
        await _scaleout(tmp, results, rounds)
        results["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        return results
    cert, key = make_cert(tmp)
    gateway = Gateway(tmp / "gateway-data")
    baseline = Baseline(tmp / "baseline-out", cert, key)
    dove = None
    started: list[Any] = []
    if os.environ.get("BENCH_GATEWAY"):
        notes.append(f"gateway executable overridden: {gateway.exe}")
    try:
        log("starting the subjects")
        gateway.setup()
        gateway.start()
        started.append(gateway)
        baseline.start()
        started.append(baseline)
        if use_dovecot:
            why = dovecot_mod.available()
            if why:
                notes.append(f"Dovecot baseline skipped: {why}")
            else:
                dove = dovecot_mod.Dovecot(
                    tmp / "dovecot", cert, key, [f"user{i}@example.test" for i in range(4)]
                )
                dove.start()
                started.append(dove)
                notes.append(
                    "Dovecot: LMTP with STARTTLS on every connection; mail_crypt "
                    "(global EC P-256 key, mail_crypt_save_version = 2), maildir, "
                    "mail_fsync = optimized; figures are summed over all its processes"
                )
        else:
            notes.append("Dovecot baseline skipped: BENCH_NO_DOVECOT")

        base = Subject("baseline", baseline, baseline.smtp_port, ["rcpt@example.test"])
        senders = [base, Subject("gateway", gateway, gateway.smtp_port, gateway.rcpts)]
        readers = [Subject("gateway", gateway, gateway.pop3_port, logins=gateway.logins)]
        if dove:
            logins = [(u, dove.password) for u in dove.users]
            senders.append(Subject("dovecot", dove, dove.port_lmtp, dove.users, lmtp=True))
            readers.append(Subject("dovecot", dove, dove.port_pop3, logins=logins))

        if "mem" in only:
            spec = results["workloads"]["mem"]
            # first, while every server is fresh: growth is measured from an idle server
            log("memory: 8 concurrent 100 MiB messages")
            body = load.make_body(spec["size"] - 250)
            phases["mem"] = await delivery_phase(senders, spec, body, 1, baseline.clear)
            del body
            phase = phases["mem_retr"] = {}
            for r in readers:
                if "error" not in phases["mem"].get(r.key, {"error": ""}):
                    phase[r.key] = await big_retr(r)

        for name in ("A", "B"):
            if name not in only:
                continue
            spec = results["workloads"][name]
            body = load.make_body(spec["size"] - 250)
            before = {}
            if "pop3" in only:  # what is already there is not this phase's to retrieve
                for r in readers:
                    before[r.key] = await load.mailbox_counts("127.0.0.1", r.port, r.logins)
            log(f"workload {name}: {rounds} rounds, subjects in rotating order")
            phases[name] = await delivery_phase(senders, spec, body, rounds, baseline.clear)
            del body
            if "pop3" in only:
                log(f"POP3 retrieval of all of {name}")
                phases[f"pop3_{name}"] = await retrieval_phase(readers, before, rounds)

        if "login" in only:
            log(f"POP3 login latency ({LOGIN_ROUNDS} logins in a row)")
            phase = phases["login"] = {}
            for r in readers:
                phase[r.key] = await _guard(
                    r.server,
                    load.login_latency("127.0.0.1", r.port, *r.logins[0], LOGIN_ROUNDS),
                )
                if "median_ms" in phase[r.key]:
                    log(f"  {r.server.label}: median {phase[r.key]['median_ms']:.1f} ms")

        notes.extend(at_rest(tmp))
        if "workers" in only:
            for server in (baseline, dove, gateway):
                if server is not None:
                    server.stop()
            await workers_phase(tmp, results["workloads"], phases, started)
        if "scaleout" in only:
            for server in started:  # off the cores the scale-out servers need
                server.stop()
            await _scaleout(tmp, results, rounds)
    finally:
        for server in reversed(started):
            try:
                server.stop()
            except Exception as exc:
                log(f"stopping {getattr(server, 'label', server)} failed: {exc}")
    results["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    return results


def at_rest(tmp: Path) -> list[str]:
    """Check one stored file of each encrypting subject really is ciphertext."""
    found = []
    checks = (
        ("gateway", tmp / "gateway-data/blobs", "*/*/*/*.age", b"age-encryption.org/v1\n"),
        ("Dovecot", tmp / "dovecot/mail", "*/Maildir/cur/*", b"CRYPTED"),
        ("Dovecot", tmp / "dovecot/mail", "*/Maildir/new/*", b"CRYPTED"),
    )
    for name, root, pattern, magic in checks:
        for path in root.glob(pattern):
            with open(path, "rb") as fh:
                head = fh.read(len(magic))
            verdict = "encrypted" if head == magic else f"NOT ENCRYPTED (starts {head!r})"
            found.append(f"at rest, {name}: {path.name} is {verdict}")
            break
    return found


async def workers_phase(tmp: Path, workloads: dict, phases: dict, started: list) -> None:
    """Workloads A and B against `--workers 2` and a fresh single-process gateway."""
    log("workloads A and B: gateway --workers 2 vs --workers 1 (fresh data directories)")
    phase = phases["workers"] = {}
    multi = Gateway(tmp / "gateway-workers", workers=2)
    single = Gateway(tmp / "gateway-single", workers=1)
    try:
        multi.setup()
        multi.start()
        started.append(multi)
    except Exception as exc:
        phase["gateway_workers"] = {"error": f"not available: {exc}"[:800]}
        log(f"  --workers 2 not available: {str(exc).splitlines()[0]}")
        return
    single.setup()
    single.start()
    started.append(single)
    subjects = [
        Subject("gateway_workers", multi, multi.smtp_port, multi.rcpts),
        Subject("gateway", single, single.smtp_port, single.rcpts),
    ]
    phase.update(await delivery_phase(subjects, workloads["A"], _body(workloads["A"]), 2))
    phases["workers_B"] = await delivery_phase(subjects, workloads["B"], _body(workloads["B"]), 2)


async def _scaleout(tmp: Path, results: dict, rounds: int) -> None:
    from . import scaleout  # imports the test support code (PostgreSQL, SeaweedFS, HAProxy)

    await scaleout.run_phase(tmp, results, rounds)


def _body(spec: dict) -> bytes:
    return load.make_body(spec["size"] - 250)


async def _guard(subject: Any, coro: Any) -> dict:
    try:
        return await asyncio.wait_for(coro, 300.0)
    except Exception as exc:
        return failure(subject, exc)


def main() -> int:
    scale = float(os.environ.get("BENCH_SCALE", "1.0"))
    if not 0 < scale <= 10:
        raise SystemExit("BENCH_SCALE must be in (0, 10]")
    only = {p.strip() for p in os.environ.get("BENCH_ONLY", "").split(",") if p.strip()}
    unknown = only - set(PHASES)
    if unknown:
        raise SystemExit(f"BENCH_ONLY: unknown phase(s) {sorted(unknown)}; known: {PHASES}")
    only = only or set(PHASES)
    use_dovecot = not os.environ.get("BENCH_NO_DOVECOT")
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    if not 1 <= rounds <= 20:
        raise SystemExit("BENCH_ROUNDS must be in 1..20")
    keep = bool(os.environ.get("BENCH_KEEP"))

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds through every finally: servers stop, tmp goes

    signal.signal(signal.SIGTERM, on_term)
    tmp = Path(tempfile.mkdtemp(prefix="jg-bench-", dir=os.environ.get("BENCH_TMP")))
    tmp.chmod(0o711)  # Dovecot's unprivileged processes must traverse it
    chosen = ",".join(p for p in PHASES if p in only)
    log(f"scale {scale}, {rounds} rounds, phases {chosen}, tmp {tmp}")
    try:
        limit = float(os.environ.get("BENCH_TIMEOUT", "10800"))
        results = asyncio.run(asyncio.wait_for(run(tmp, scale, only, use_dovecot, rounds), limit))
    except KeyboardInterrupt:
        log("interrupted: servers stopped")
        return 130
    except TimeoutError:
        log("BENCH_TIMEOUT reached: servers stopped")
        return 124
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        if keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    markdown = render(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown)
    print(markdown)
    log(f"wrote {RESULTS / 'latest.json'} and latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
