"""The gateway and the aiosmtpd baseline as benchmark subjects (Dovecot: bench/dovecot.py)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import procs
from .dovecot import descendants

DOMAIN = "example.test"


@dataclass
class Gateway:
    """`gateway serve` on its own data directory with `mailboxes` fresh mailboxes."""

    data: Path
    mailboxes: int = 4
    workers: int | None = None  # None: the default (`serve.workers = auto`, one per core)
    smtp_port: int = 0
    pop3_port: int = 0
    accounts: list[dict] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)  # more `gateway serve` options
    env: dict[str, str] = field(default_factory=dict)  # GATEWAY_* settings (CLI and serve)
    proc: subprocess.Popen | None = None
    # BENCH_GATEWAY=/path/to/wrapper benchmarks an experiment (e.g. a monkeypatched build)
    exe: str = os.environ.get("BENCH_GATEWAY") or str(procs.ROOT / ".venv/bin/gateway")

    @property
    def label(self) -> str:
        return "gateway" if self.workers is None else f"gateway --workers {self.workers}"

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [self.exe, "--data", str(self.data), *args],
            cwd=procs.ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(f"gateway {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def setup(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self._cli("domain", "add", DOMAIN)
        for _ in range(self.mailboxes):
            out = self._cli("mailbox", "create", "--domain", DOMAIN, "--json")
            self.accounts.append(json.loads(out[out.index("{") : out.rindex("}") + 1]))

    @property
    def rcpts(self) -> list[str]:
        return [a["address"] for a in self.accounts]

    @property
    def logins(self) -> list[tuple[str, str]]:
        return [(a["address"], a["passphrase"]) for a in self.accounts]

    def start(self) -> None:
        self.smtp_port, self.pop3_port = procs.free_port(), procs.free_port()
        args = [self.exe, "--data", str(self.data), "serve"]
        args += ["--smtp", f"127.0.0.1:{self.smtp_port}", "--pop3", f"127.0.0.1:{self.pop3_port}"]
        args += ["--imap", "", "--web", ""]
        if self.workers is not None:
            args += ["--workers", str(self.workers)]
        args += self.extra_args
        log = self.data.parent / f"{self.data.name}.log"
        self.proc = procs.start(args, env=self.env, log=log)
        try:
            procs.wait_port(self.smtp_port, 60, self.proc)
            procs.wait_port(self.pop3_port, 60, self.proc)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{self.label} did not start: {exc}\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 15) -> str:
        path = self.data.parent / f"{self.data.name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def pids(self) -> list[int]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        return descendants(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)


@dataclass
class Baseline:
    """bench/baseline_smtpd.py: bare aiosmtpd + STARTTLS, plaintext files + fsync."""

    outdir: Path
    cert: Path
    key: Path
    smtp_port: int = 0
    proc: subprocess.Popen | None = None
    label: str = "aiosmtpd+fsync"

    def start(self) -> None:
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.smtp_port = procs.free_port()
        args = [procs.python(), "-m", "bench.baseline_smtpd", "127.0.0.1", str(self.smtp_port)]
        args += [str(self.outdir), str(self.cert), str(self.key)]
        self.proc = procs.start(args, log=self.outdir.parent / "baseline.log")
        try:
            procs.wait_port(self.smtp_port, 30, self.proc)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"baseline did not start: {exc}") from None

    def pids(self) -> list[int]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        return [self.proc.pid]

    def clear(self) -> None:
        """Remove the stored files (keeps the disk from filling between workloads)."""
        for path in self.outdir.iterdir():
            path.unlink()

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)
