"""`kill -9` during sustained SMTP load loses nothing that got 250 (DESIGN §3, §8).

Six clients send unique messages (300 B to 150 KB, STARTTLS) to three mailboxes while
the server dies: either at an exact point in the delivery path, through the test-only
hook storage/faults.py (JGW_TEST_FAULT, the process SIGKILLs itself there), or by
`kill -9` from outside at random moments. After a restart:

- every message whose 250 a client read is retrievable over POP3, byte-identical to
  what was sent once the gateway's trace headers are taken off;
- every message listed is complete and is one a client sent (no partial file, no
  damaged file is ever listed, RETR of each listed message finishes);
- the crash's leftovers were reconciled at start-up (temp files removed, renamed but
  uncommitted files adopted, nothing quarantined) and `gateway fsck` exits 0.
"""

from __future__ import annotations

import random
import re
import threading
import time

import pytest

from .support import (
    Gateway,
    Ledger,
    check_retrieved,
    fsck,
    make_mailboxes,
    pop3_fetch_all,
    sender_loop,
)

pytestmark = pytest.mark.timeout(120)  # hang detection, not a speed target

SENDERS = 6
LOAD_LIMIT = 60.0  # seconds: the fault must have fired by then
RECONCILED = re.compile(
    r"reconciled data directory: (\d+) adopted, (\d+) quarantined, (\d+) temp files removed"
)


# point -> (JGW_TEST_FAULT value, what the restart must show)
FAULT_POINTS = {
    "mid-data": "smtp.data:150",
    "after-file-fsync": "delivery.fsynced:40",
    "after-rename": "delivery.renamed:40",
    "before-index-commit": "commit.before:25",
    "after-index-commit": "commit.after:40",
}


def start_load(gateway: Gateway, boxes, ledger: Ledger, seed: int):
    stop = threading.Event()
    deadline = time.monotonic() + LOAD_LIMIT
    threads = [
        threading.Thread(
            target=sender_loop,
            args=(gateway.smtp, boxes, ledger, stop, seed * 100 + n, deadline),
            daemon=True,
        )
        for n in range(SENDERS)
    ]
    for thread in threads:
        thread.start()
    return stop, threads


def finish_load(stop: threading.Event, threads: list[threading.Thread]) -> None:
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a sender hung"


def reconciled(gateway: Gateway) -> tuple[int, int, int]:
    match = RECONCILED.search(gateway.log_text())
    return tuple(int(g) for g in match.groups()) if match else (0, 0, 0)  # type: ignore[return-value]


def verify_after_restart(data, boxes, ledger: Ledger) -> tuple[Gateway, set[str]]:
    """Restart, retrieve everything from every mailbox, check it against the ledger."""
    gateway = Gateway(data)
    gateway.wait_ready()
    seen: set[str] = set()
    stored_total = 0
    for box in boxes:
        stored = pop3_fetch_all(gateway.pop3, box)
        stored_total += len(stored)
        seen |= check_retrieved(list(stored.values()), ledger, ledger.acked_for(box.id))
    assert stored_total == len(seen), "a message is listed twice"
    return gateway, seen


@pytest.mark.parametrize("point", list(FAULT_POINTS))
def test_kill_at_a_fault_point_loses_nothing_acknowledged(tmp_path, point: str, figures) -> None:
    data = tmp_path / "data"
    boxes = make_mailboxes(data, 3)
    ledger = Ledger()
    gateway = Gateway(data, env={"JGW_TEST_FAULT": FAULT_POINTS[point]})
    gateway.wait_ready()
    stop, threads = start_load(gateway, boxes, ledger, seed=1)
    try:
        died = gateway.wait_dead(LOAD_LIMIT + 10)
    finally:
        finish_load(stop, threads)
        if not died:
            gateway.kill9()
    assert died, f"the fault point {FAULT_POINTS[point]} was never reached"
    assert gateway.proc.returncode == -9  # it died at the fault point, not otherwise
    assert ledger.acked, "no message was acknowledged before the crash"
    assert not gateway.log_problems(), gateway.log_problems()

    restarted, seen = verify_after_restart(data, boxes, ledger)
    try:
        adopted, quarantined, temp_removed = reconciled(restarted)
        assert quarantined == 0, "a kill -9 never leaves an invalid file"
        if point in ("after-rename", "before-index-commit"):
            # The file renamed into place without its index row was adopted, whole.
            assert adopted >= 1
            assert len(seen - set(ledger.acked)) >= 1
        if point == "after-file-fsync":
            assert temp_removed >= 1
        if point == "after-index-commit":
            # Committed but never acknowledged: kept (the sender will retry: a duplicate
            # is possible, a loss is not).
            assert len(seen - set(ledger.acked)) >= 1
        assert not restarted.log_problems(), restarted.log_problems()
    finally:
        assert restarted.stop() == 0
    checked = fsck(data)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    figures.record(
        f"crash {point}",
        acknowledged=len(ledger.acked),
        stored_after_restart=len(seen),
        lost=0,
        unacknowledged_but_kept=len(seen - set(ledger.acked)),
        adopted=adopted,
        temp_removed=temp_removed,
    )


def test_kill_9_at_random_moments_three_times(tmp_path, figures) -> None:
    """Three rounds on one data directory: load, kill -9 at a random moment, restart;
    after each restart everything acknowledged so far (all rounds) is still there."""
    data = tmp_path / "data"
    boxes = make_mailboxes(data, 3)
    ledger = Ledger()
    rng = random.Random()
    kill_times = []
    for round_number in range(3):
        gateway = Gateway(data)
        gateway.wait_ready()
        stop, threads = start_load(gateway, boxes, ledger, seed=10 + round_number)
        kill_after = rng.uniform(1.0, 4.0)
        kill_times.append(round(kill_after, 2))
        time.sleep(kill_after)
        gateway.kill9()
        finish_load(stop, threads)
        assert not gateway.log_problems(), gateway.log_problems()
        restarted, seen = verify_after_restart(data, boxes, ledger)
        try:
            _adopted, quarantined, _temp = reconciled(restarted)
            assert quarantined == 0
            assert not restarted.log_problems(), restarted.log_problems()
        finally:
            assert restarted.stop() == 0
    assert ledger.acked
    checked = fsck(data)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    figures.record(
        "crash random kill -9 x3",
        kill_after_seconds=kill_times,
        acknowledged=len(ledger.acked),
        stored_after_restarts=len(seen),
        lost=0,
    )
