"""Markdown tables from a bench/run_all.py result: figures, ratios, targets with PASS/FAIL."""

from __future__ import annotations

from typing import Any

MEMORY_LIMIT_MIB = 64.0  # issue 14 / DESIGN §8: 8 concurrent 100 MiB messages grow peak RSS by less
SCALEOUT_PHASES = {"scaleout_A", "scaleout_B", "scaleout_pop3_A", "scaleout_pop3_B"}
SUBJECTS = (("gateway", "gateway"), ("baseline", "aiosmtpd+fsync"), ("dovecot", "Dovecot"))

# (phase, key, label, format)
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("A", "msgs_per_s", "A 8×2000×64 KiB: msgs/s", "{:.1f}"),
    ("A", "mb_per_s", "A: MB/s", "{:.1f}"),
    ("A", "p50_ms", "A: p50 latency (ms)", "{:.1f}"),
    ("A", "p99_ms", "A: p99 latency (ms)", "{:.1f}"),
    ("A", "peak_rss_mib", "A: peak RSS (MiB)", "{:.0f}"),
    ("A", "server_cpu_s", "A: server CPU (s)", "{:.1f}"),
    ("B", "msgs_per_s", "B 4×80×5 MiB: msgs/s", "{:.2f}"),
    ("B", "mb_per_s", "B: MB/s", "{:.1f}"),
    ("B", "p50_ms", "B: p50 latency (ms)", "{:.0f}"),
    ("B", "p99_ms", "B: p99 latency (ms)", "{:.0f}"),
    ("B", "peak_rss_mib", "B: peak RSS (MiB)", "{:.0f}"),
    ("B", "server_cpu_s", "B: server CPU (s)", "{:.1f}"),
    ("pop3_A", "mb_per_s", "POP3 all of A: MB/s", "{:.1f}"),
    ("pop3_A", "msgs_per_s", "POP3 all of A: msgs/s", "{:.1f}"),
    ("pop3_A", "p99_ms", "POP3 all of A: RETR p99 (ms)", "{:.1f}"),
    ("pop3_A", "server_cpu_s", "POP3 all of A: server CPU (s)", "{:.1f}"),
    ("pop3_B", "mb_per_s", "POP3 all of B: MB/s", "{:.1f}"),
    ("pop3_B", "p99_ms", "POP3 all of B: RETR p99 (ms)", "{:.0f}"),
    ("pop3_B", "server_cpu_s", "POP3 all of B: server CPU (s)", "{:.1f}"),
    ("A", "cpu_s_per_gb", "A: server CPU seconds per GB ingested", "{:.1f}"),
    ("B", "cpu_s_per_gb", "B: server CPU seconds per GB ingested", "{:.1f}"),
    ("mem", "cpu_s_per_gb", "8 × 100 MiB: server CPU seconds per GB ingested", "{:.1f}"),
    ("login", "median_ms", "POP3 login (connect+STLS+USER/PASS), median ms", "{:.1f}"),
    ("mem", "peak_growth_mib", "8 × 100 MiB at once: peak RSS growth (MiB)", "{:.0f}"),
    ("mem", "mb_per_s", "8 × 100 MiB at once: MB/s", "{:.1f}"),
    ("mem_retr", "peak_growth_mib", "one 100 MiB POP3 RETR: peak RSS growth (MiB)", "{:.1f}"),
    ("mem_retr", "mb_per_s", "one 100 MiB POP3 RETR: MB/s", "{:.1f}"),
)


def value(results: dict, phase: str, subject: str, key: str) -> Any:
    entry = results.get("phases", {}).get(phase, {}).get(subject)
    if entry is None:
        return None
    if "error" in entry:
        return "error"
    return entry.get(key)


def ratio(a: Any, b: Any) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float) and b:
        return a / b
    return None


def cell(v: Any, fmt: str) -> str:
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    return fmt.format(v)


def rcell(r: float | None) -> str:
    return "–" if r is None else f"{r:.2f}×"


def targets(results: dict) -> list[tuple[str, str, str]]:
    """(target, measured, PASS/FAIL/n/a) for each target of issue 14 (DESIGN §8 raised)."""
    out = []

    def vs(phase: str, key: str, other: str, factor: float, label: str, most: bool = False) -> None:
        gw, base = value(results, phase, "gateway", key), value(results, phase, other, key)
        r = ratio(gw, base)
        if r is None:
            why = "not run" if base is None or gw is None else "error"
            out.append((label, why, "n/a"))
            return
        ok = r <= factor if most else r >= factor
        out.append((label, f"{r:.2f}× ({gw:.1f} vs {base:.1f})", verdict(ok)))

    def grew(phase: str, label: str) -> None:
        growth = value(results, phase, "gateway", "peak_growth_mib")
        if isinstance(growth, int | float):
            out.append((label, f"{growth:.1f} MiB", verdict(growth < MEMORY_LIMIT_MIB)))
        else:
            out.append((label, growth or "not run", "n/a"))

    vs("A", "msgs_per_s", "baseline", 1.0, "A msgs/s ≥ 1.0 × aiosmtpd+fsync")
    vs("A", "msgs_per_s", "dovecot", 1.5, "A msgs/s ≥ 1.5 × Dovecot LMTP + mail_crypt")
    vs("B", "mb_per_s", "dovecot", 1.25, "B MB/s ≥ 1.25 × Dovecot LMTP + mail_crypt")
    grew("mem", f"8 × 100 MiB: gateway peak RSS growth < {MEMORY_LIMIT_MIB:.0f} MiB")
    vs("mem", "mb_per_s", "dovecot", 1.0, "8 × 100 MiB: MB/s ≥ 1.0 × Dovecot")
    vs("pop3_A", "mb_per_s", "dovecot", 1.5, "POP3 of A MB/s ≥ 1.5 × Dovecot POP3")
    vs("pop3_B", "mb_per_s", "dovecot", 1.5, "POP3 of B MB/s ≥ 1.5 × Dovecot POP3")
    vs(
        "login",
        "median_ms",
        "dovecot",
        2.0,
        "repeat login (unlock cache) ≤ 2 × Dovecot's",
        most=True,
    )
    grew("mem_retr", f"100 MiB POP3 RETR flat: growth < {MEMORY_LIMIT_MIB:.0f} MiB")
    return out


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def render(results: dict) -> str:
    w = results.get("workloads", {})
    lines = [
        f"Benchmark run {results.get('started', '?')} – BENCH_SCALE={results.get('scale')} "
        f"(A: {w.get('A', {}).get('messages')} msgs/connection, "
        f"B: {w.get('B', {}).get('messages')} msgs/connection)",
        "",
        f"Machine: {results.get('machine', {}).get('cpus')} CPUs "
        f"({results.get('machine', {}).get('cpu_model')}), "
        f"kernel {results.get('machine', {}).get('kernel')}, "
        f"Python {results.get('machine', {}).get('python')}, "
        f"Dovecot {results.get('machine', {}).get('dovecot') or 'absent'}",
        "",
        "Ratios are gateway ÷ baseline from the same run: above 1 is better for "
        "throughput, below 1 is better for latency, memory and CPU.",
        "",
        "| measurement | gateway | aiosmtpd+fsync | Dovecot | gw ÷ aiosmtpd | gw ÷ Dovecot |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase, key, label, fmt in ROWS:
        if phase not in results.get("phases", {}):
            continue
        gw, base, dove = (value(results, phase, s, key) for s, _ in SUBJECTS)
        if gw is None and base is None and dove is None:
            continue
        lines.append(
            f"| {label} | {cell(gw, fmt)} | {cell(base, fmt)} | {cell(dove, fmt)} "
            f"| {rcell(ratio(gw, base))} | {rcell(ratio(gw, dove))} |"
        )
    for phase, what, key, fmt in (
        ("workers", "A msgs/s", "msgs_per_s", "{:.1f}"),
        ("workers_B", "B MB/s", "mb_per_s", "{:.1f}"),
    ):
        entry = results.get("phases", {}).get(phase)
        if not entry:
            continue
        multi, single = entry.get("gateway_workers", {}), entry.get("gateway", {})
        if "error" in multi:
            error = multi["error"].splitlines()[0][:120]
            lines.append(f"| {what} with `--workers 2`: {error} | | | | | |")
            continue
        m, s = multi.get(key), single.get(key)
        lines.append(
            f"| {what}, `--workers 2` vs 1 (fresh gateways, alternating) "
            f"| {cell(m, fmt)} vs {cell(s, fmt)} | | | {rcell(ratio(m, s))} (2 ÷ 1) | |"
        )
    lines += ["", "| target (issue 14) | measured | result |", "| --- | --- | --- |"]
    lines += [f"| {t} | {m} | {r} |" for t, m, r in targets(results)]
    if set(results.get("phases", {})) <= SCALEOUT_PHASES:  # BENCH_ONLY=scaleout
        del lines[4:]  # no main subjects ran: no empty table, no "not run" targets
    if results.get("phases", {}).keys() & SCALEOUT_PHASES:
        from .scaleout_report import lines as scaleout_lines

        lines += scaleout_lines(results)
    errors = [
        f"- {phase} / {subject}: {entry['error'].strip().splitlines()[0][:300]}"
        for phase, entries in results.get("phases", {}).items()
        for subject, entry in entries.items()
        if isinstance(entry, dict) and "error" in entry
    ]
    if errors:
        lines += ["", "Errors:", *errors]
    if results.get("notes"):
        lines += ["", "Notes:", *(f"- {n}" for n in results["notes"])]
    return "\n".join(lines) + "\n"
