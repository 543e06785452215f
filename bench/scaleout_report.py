"""Markdown tables of the scale-out phase (bench/scaleout.py): throughput with ratios to
the 1-node SQLite figure of the same run, and CPU milliseconds per message by process kind."""

from __future__ import annotations

from typing import Any

from .report import cell, ratio, rcell
from .scaleout import CONFIGS, KINDS, REFERENCE

# (phase, key, label, format)
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("scaleout_A", "msgs_per_s", "A: msgs/s", "{:.1f}"),
    ("scaleout_A", "mb_per_s", "A: MB/s", "{:.1f}"),
    ("scaleout_A", "p50_ms", "A: p50 latency (ms)", "{:.1f}"),
    ("scaleout_A", "p99_ms", "A: p99 latency (ms)", "{:.1f}"),
    ("scaleout_A", "cores_busy", "A: cores busy (servers + load generator)", "{:.2f}"),
    ("scaleout_B", "msgs_per_s", "B: msgs/s", "{:.2f}"),
    ("scaleout_B", "mb_per_s", "B: MB/s", "{:.1f}"),
    ("scaleout_B", "p99_ms", "B: p99 latency (ms)", "{:.0f}"),
    ("scaleout_B", "cores_busy", "B: cores busy (servers + load generator)", "{:.2f}"),
    ("scaleout_pop3_A", "msgs_per_s", "POP3 all of A: msgs/s", "{:.1f}"),
    ("scaleout_pop3_A", "mb_per_s", "POP3 all of A: MB/s", "{:.1f}"),
    ("scaleout_pop3_A", "cores_busy", "POP3 of A: cores busy", "{:.2f}"),
    ("scaleout_pop3_B", "mb_per_s", "POP3 all of B: MB/s", "{:.1f}"),
    ("scaleout_pop3_B", "cores_busy", "POP3 of B: cores busy", "{:.2f}"),
)
INDEX_ROWS = (
    ("commits", "transactions", "{:.2f}"),
    ("wal_bytes", "WAL bytes", "{:.0f}"),
    ("wal_syncs", "WAL flushes", "{:.2f}"),
)
PHASE_LABELS = {
    "scaleout_A": "A",
    "scaleout_B": "B",
    "scaleout_pop3_A": "POP3 of A",
    "scaleout_pop3_B": "POP3 of B",
}


def _entry(results: dict, phase: str, config: str) -> dict | None:
    return results.get("phases", {}).get(phase, {}).get(config)


def _value(results: dict, phase: str, config: str, key: str) -> Any:
    entry = _entry(results, phase, config)
    if entry is None:
        return None
    return "error" if "error" in entry else entry.get(key)


def lines(results: dict) -> list[str]:
    """The two tables, or nothing when the phase did not run."""
    phases = results.get("phases", {})
    if not any(phase in phases for phase in PHASE_LABELS):
        return []
    others = [c for c in CONFIGS if c.key != REFERENCE]
    head = " | ".join(c.label for c in CONFIGS)
    ratios = " | ".join(f"{c.key} ÷ {REFERENCE}" for c in others)
    out = [
        "",
        "Scale-out (same run; every server and the load generator share this machine's "
        "cores; ratios are to the 1-node SQLite figure):",
        "",
        f"| measurement | {head} | {ratios} |",
        "| --- |" + " ---: |" * (len(CONFIGS) + len(others)),
    ]
    for phase, key, label, fmt in ROWS:
        if phase not in phases:
            continue
        values = {c.key: _value(results, phase, c.key, key) for c in CONFIGS}
        reference = values[REFERENCE]
        cells = " | ".join(cell(values[c.key], fmt) for c in CONFIGS)
        rcells = " | ".join(rcell(ratio(values[c.key], reference)) for c in others)
        out.append(f"| {label} | {cells} | {rcells} |")
    out += [
        "",
        "CPU milliseconds per message, by process kind (total: the servers; the load"
        " generator is the benchmark's own client process):",
        "",
        f"| CPU ms per message | {head} |",
        "| --- |" + " ---: |" * len(CONFIGS),
    ]
    for phase, what in PHASE_LABELS.items():
        if phase not in phases:
            continue
        for kind in (*KINDS, "total", "load generator"):
            row = [_cpu_ms(_entry(results, phase, c.key), kind) for c in CONFIGS]
            if all(v is None for v in row):
                continue
            cells = " | ".join(cell(v, "{:.2f}") for v in row)
            out.append(f"| {what}: {kind} | {cells} |")
    return out + _index_lines(results)


def _index_lines(results: dict) -> list[str]:
    """PostgreSQL's share per message: what sizes the index server."""
    shared = [c for c in CONFIGS if c.shared]
    head = " | ".join(c.label for c in shared)
    out = [
        "",
        "PostgreSQL per message (transactions in the gateway's database, read-only ones"
        " included; WAL written and flushed, server-wide):",
        "",
        f"| per message | {head} |",
        "| --- |" + " ---: |" * len(shared),
    ]
    rows = 0
    for phase, what in PHASE_LABELS.items():
        for key, label, fmt in INDEX_ROWS:
            values = [_index_value(_entry(results, phase, c.key), key) for c in shared]
            if all(v is None for v in values):
                continue
            out.append(f"| {what}: {label} | {' | '.join(cell(v, fmt) for v in values)} |")
            rows += 1
    return out if rows else []


def _index_value(entry: dict | None, key: str) -> float | str | None:
    if entry is None:
        return None
    return "error" if "error" in entry else entry.get("index_per_msg", {}).get(key)


def _cpu_ms(entry: dict | None, kind: str) -> float | str | None:
    if entry is None:
        return None
    if "error" in entry:
        return "error"
    if kind == "total":
        return entry.get("total_cpu_ms_per_msg")
    if kind == "load generator":
        return entry.get("client_cpu_ms_per_msg")
    return entry.get("cpu_ms_per_msg", {}).get(kind)
