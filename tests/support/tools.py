"""External tools (Debian packages that .ci/run installs) and running them in tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest


def not_available(reason: str) -> NoReturn:
    """Skip loudly outside CI; in CI, where everything must be installed, fail."""
    if os.environ.get("CI"):
        pytest.fail(f"CI: {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")
    raise AssertionError("unreachable")


def require_tool(name: str) -> str:
    """Path of an external tool; skip loudly without it, except in CI where it must exist."""
    path = shutil.which(name)
    if path:
        return path
    not_available(f"{name} is not installed (Debian package; .ci/run installs it)")


def run_tool(argv: list[str], home: Path) -> subprocess.CompletedProcess:
    """Run a tool with a clean environment: only PATH, HOME=`home` and the C locale."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C"}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def stop_process(proc: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM by PID, SIGKILL if it does not go in `timeout` seconds; nothing if gone."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def write_private(path: Path, text: str) -> Path:
    """A file only its owner may read (tools refuse config files with passwords otherwise)."""
    path.write_text(text)
    path.chmod(0o600)
    return path


def new_dir(base: Path, prefix: str) -> Path:
    """A fresh directory base/prefix-<n>, one more than there are already."""
    path = base / f"{prefix}-{len(list(base.glob(f'{prefix}-*'))) + 1}"
    path.mkdir()
    return path


# Python that writes stdin to DIR/<n>.eml: stands in for an MDA, changes nothing.
SAVE_MDA = """
import os, sys
directory = sys.argv[1]
number = len(os.listdir(directory)) + 1
with open(os.path.join(directory, f"{number:04d}.eml"), "wb") as fh:
    fh.write(sys.stdin.buffer.read())
"""


def save_mda(out: Path) -> Path:
    """The MDA script (next to `out`) that saves each message it is given into `out`."""
    script = out.parent / "save.py"
    script.write_text(SAVE_MDA)
    return script


def saved(out: Path) -> list[bytes]:
    """What the MDA saved into `out`, in delivery order."""
    return [p.read_bytes() for p in sorted(out.iterdir())]
