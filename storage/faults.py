"""Test-only fault injection: die at a named point, exactly as `kill -9` would there.

Never set in production. The reliability suite (tests/reliability) starts `gateway
serve` with JGW_TEST_FAULT=<point>:<n>; the n-th time any thread reaches
fault_point("<point>"), the process sends itself SIGKILL. Without the variable (the
normal case) fault_point is a function that does nothing.

Points:
  smtp.data         a DATA block was received and handed to the copies being written
  delivery.fsynced  a message file was written and fsynced under tmp/, not yet renamed
  delivery.renamed  the file was renamed into blobs/; directory not fsynced, no index row
  commit.before     the index rows are inserted, the transaction is not yet committed
  commit.after      the index transaction committed; the SMTP client has no 250 yet
  source.committed  a fetched message and its tracking row committed; not yet deleted
                    at the source (gateway/sources/fetch.py)
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

ENV = "JGW_TEST_FAULT"


def _off(point: str) -> None:
    """No fault injection configured."""


def _armed(spec: str) -> Callable[[str], None]:
    name, _, count = spec.partition(":")
    remaining = int(count or "1")
    lock = threading.Lock()

    def fault_point(point: str) -> None:
        nonlocal remaining
        if point != name:
            return
        with lock:
            remaining -= 1
            hit = remaining == 0
        if hit:
            os.kill(os.getpid(), signal.SIGKILL)

    return fault_point


fault_point: Callable[[str], None] = _armed(os.environ[ENV]) if os.environ.get(ENV) else _off
