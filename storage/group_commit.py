"""Group commit: concurrent deliveries share one directory fsync pass and one transaction.

The first caller to arrive becomes the leader and commits every entry queued so far;
the others wait for their own entry. No caller returns before its entry is durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Entry:
    item: Any
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    extra: dict = field(default_factory=dict)


# The batch function gets the items and returns, per item, a result or an exception.
BatchFn = Callable[[list[Any]], list[Any]]


class GroupCommitter:
    def __init__(self, commit_batch: BatchFn) -> None:
        self._commit_batch = commit_batch
        self._cond = threading.Condition()
        self._queue: list[_Entry] = []
        self._busy = False

    def submit(self, item: Any) -> Any:
        entry = _Entry(item)
        with self._cond:
            self._queue.append(entry)
            while not entry.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                batch, self._queue = self._queue, []
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if entry.error is not None:
            raise entry.error
        return entry.result

    def _run(self, batch: list[_Entry]) -> None:
        try:
            outcomes = self._commit_batch([e.item for e in batch])
        except BaseException as exc:  # every waiter must learn of it
            outcomes = [exc] * len(batch)
        for entry, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                entry.error = outcome
            else:
                entry.result = outcome
            entry.done = True
