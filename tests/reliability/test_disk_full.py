"""A full disk: refused with 4xx, nothing acknowledged lost, and delivery resumes by itself.

The data directory lives on a small ext4 file system the test makes and loop-mounts
(tmpfs with size= if loop devices are unavailable). A filler file leaves little space;
senders keep going until the disk is really full (ENOSPC in the middle of writing a
message file or the index), then the filler is removed while the server keeps running.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from .support import (
    Gateway,
    Ledger,
    check_retrieved,
    fsck,
    make_mailboxes,
    make_message,
    pop3_fetch_all,
    send_one,
    smtp_session,
)

pytestmark = pytest.mark.timeout(120)  # hang detection, not a speed target

MiB = 1024 * 1024
IMAGE_SIZE = 48 * MiB
FILL_LIMIT = 40.0  # seconds of sending into the full disk at most


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def small_filesystem(tmp_path: Path):
    """A mounted ~40 MiB file system (loop-mounted ext4, else tmpfs); always unmounted."""
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    image = tmp_path / "disk.ext4"
    problems = []
    kind = None
    if os.geteuid() != 0:
        problems.append("not running as root")
    else:
        with open(image, "wb") as fh:
            fh.truncate(IMAGE_SIZE)
        made = _run("mkfs.ext4", "-q", "-F", "-m", "0", str(image))
        mounted = made.returncode == 0 and _run("mount", "-o", "loop", str(image), str(mountpoint))
        if mounted and mounted.returncode == 0:
            kind = "ext4 (loop)"
        else:
            problems.append(
                f"loop ext4: {made.stderr.strip()} {mounted and mounted.stderr.strip()}"
            )
            tmpfs = _run("mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mountpoint))
            if tmpfs.returncode == 0:
                kind = "tmpfs"
            else:
                problems.append(f"tmpfs: {tmpfs.stderr.strip()}")
    if kind is None:
        reason = "cannot mount a small file system: " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(f"CI: {reason}")
        pytest.skip(f"SKIPPED LOUDLY: {reason}")
    try:
        yield mountpoint, kind
    finally:
        if _run("umount", str(mountpoint)).returncode != 0:
            _run("umount", "-l", str(mountpoint))
        image.unlink(missing_ok=True)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def fill(path: Path, leave: int) -> Path:
    filler = path / "filler"
    size = free_bytes(path) - leave
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
        os.fsync(fd)
    finally:
        os.close(fd)
    return filler


def send_batch(
    gateway: Gateway,
    box,
    ledger: Ledger,
    rng: random.Random,
    count: int,
    size: tuple[int, int],
    declare_size: bool = True,
) -> list[int]:
    """`count` messages on one connection; the reply code of each. Without SIZE= the
    RCPT check cannot foresee the size, so the write itself meets the full disk."""
    codes = []
    client = smtp_session(gateway.smtp)
    try:
        for _ in range(count):
            canary = f"d{rng.getrandbits(48):012x}"
            message = make_message(canary, rng.randint(*size), rng)
            codes.append(send_one(client, box, canary, message, ledger, declare_size))
        client.quit()
    finally:
        with contextlib.suppress(OSError):
            client.close()
    return codes


def index_and_files(data: Path) -> tuple[set[str], set[str], list[str]]:
    with contextlib.closing(sqlite3.connect(data / "gateway.db")) as db:
        rows = {r[0] for r in db.execute("SELECT path FROM messages")}
    files = {p.relative_to(data).as_posix() for p in (data / "blobs").rglob("*.age")}
    temps = [p.name for p in (data / "tmp").iterdir()]
    return rows, files, temps


def test_full_disk_gets_4xx_loses_nothing_and_recovers(small_filesystem, figures) -> None:
    mountpoint, kind = small_filesystem
    data = mountpoint / "data"
    (box,) = make_mailboxes(data, 1)
    ledger = Ledger()
    rng = random.Random(7)
    gateway = Gateway(data, env={"GATEWAY_STORAGE__DISK_RESERVE": "0"})
    gateway.wait_ready()
    try:
        assert send_batch(gateway, box, ledger, rng, 5, (1000, 50_000)) == [250] * 5
        filler = fill(mountpoint, leave=3 * MiB)

        # Four senders into the nearly full disk until it refuses, a bounded while. Two
        # declare SIZE= (the RCPT check may refuse them with 452 4.3.1); two do not, so
        # their writes run into ENOSPC (message file or index): 451 4.3.0.
        codes: dict[int, list[int]] = {seed: [] for seed in (1, 2, 3, 4)}
        lock = threading.Lock()
        deadline = time.monotonic() + FILL_LIMIT

        def enough() -> bool:
            undeclared = [c for seed in (1, 2) for c in codes[seed] if c != 250]
            return len(undeclared) >= 6 and sum(c != 250 for v in codes.values() for c in v) >= 12

        def sender(seed: int) -> None:
            own = random.Random(seed)
            sizes = (2_000, 400_000) if seed % 2 else (100_000, 400_000)
            while time.monotonic() < deadline:
                got = send_batch(gateway, box, ledger, own, 4, sizes, declare_size=seed > 2)
                with lock:
                    codes[seed].extend(got)
                    if enough():
                        return

        threads = [threading.Thread(target=sender, args=(s,), daemon=True) for s in codes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(FILL_LIMIT + 30)
            assert not thread.is_alive(), "a sender hung on the full disk"
        assert enough(), f"the disk never filled up: {codes}"
        refused = [c for v in codes.values() for c in v if c != 250]
        assert set(refused) <= {451, 452}, f"not a temporary failure: {sorted(set(refused))}"
        undeclared = {c for seed in (1, 2) for c in codes[seed] if c != 250}
        assert undeclared == {451}  # the write itself failed: storage error, not a 250
        enospc = gateway.log_text().count("No space left on device")
        index_full = gateway.log_text().count("database or disk is full")
        assert enospc + index_full >= 1
        free_when_full = free_bytes(mountpoint)

        # Nothing half-written stays behind while the disk is still full.
        rows, files, temps = index_and_files(data)
        assert files == rows, "a message file without its index row (or the reverse)"
        assert temps == [], f"unfinished temp files left: {temps}"

        # Space comes back: delivery resumes without a restart.
        filler.unlink()
        assert send_batch(gateway, box, ledger, rng, 5, (1000, 200_000)) == [250] * 5

        stored = pop3_fetch_all(gateway.pop3, box)
        check_retrieved(list(stored.values()), ledger, ledger.acked_for(box.id))
        assert len(stored) == len(ledger.acked)  # nothing unacknowledged is listed either
        problems = [line for line in gateway.log_problems() if "Traceback" not in line]
        assert not problems, problems  # tracebacks of handled, logged storage errors allowed
    finally:
        assert gateway.stop() == 0
    checked = fsck(data)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    figures.record(
        "disk full",
        filesystem=kind,
        acknowledged=len(ledger.acked),
        refused=len(refused),
        refusal_codes=sorted(set(refused)),
        enospc_in_file_writes=enospc,
        index_commit_disk_full=index_full,
        free_bytes_when_full=free_when_full,
        lost=0,
    )


def test_disk_reserve_gives_452_and_lifts_by_itself(small_filesystem, figures) -> None:
    mountpoint, kind = small_filesystem
    data = mountpoint / "data"
    (box,) = make_mailboxes(data, 1)
    ledger = Ledger()
    rng = random.Random(8)
    gateway = Gateway(data, env={"GATEWAY_STORAGE__DISK_RESERVE": str(16 * MiB)})
    gateway.wait_ready()
    try:
        assert send_batch(gateway, box, ledger, rng, 2, (1000, 5000)) == [250, 250]
        filler = fill(mountpoint, leave=10 * MiB)
        client = smtp_session(gateway.smtp)
        assert client.mail("sender@example.org")[0] == 250
        code, text = client.rcpt(box.address)
        assert (code, text.split()[0]) == (452, b"4.3.1")
        client.quit()
        filler.unlink()
        assert send_batch(gateway, box, ledger, rng, 2, (1000, 5000)) == [250, 250]
        stored = pop3_fetch_all(gateway.pop3, box)
        check_retrieved(list(stored.values()), ledger, ledger.acked_for(box.id))
    finally:
        assert gateway.stop() == 0
    assert shutil.disk_usage(mountpoint).free > 16 * MiB
    figures.record("disk reserve", filesystem=kind, rcpt_reply="452 4.3.1", acknowledged=4)
