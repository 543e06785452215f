"""Sign-in throttling: failures are counted per client IP and per admin name.

After `max_failures` failures within `window` seconds for either key, sign-in is refused
(without checking the password) until the oldest failure leaves the window. In-process
state: each worker process counts on its own, which still bounds guessing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable


class LoginThrottle:
    def __init__(self, max_failures: int, window: float, clock: Callable[[], float]) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        entries = self._failures.get(key)
        if entries is None:
            return deque()
        while entries and now - entries[0] >= self.window:
            entries.popleft()
        if not entries:
            del self._failures[key]
        return entries

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until a sign-in may be tried again; 0 when allowed now."""
        wait = 0.0
        for key in keys:
            entries = self._recent(key)
            if len(entries) >= self.max_failures:
                wait = max(wait, self.window - (self.clock() - entries[0]))
        return wait

    def failure(self, keys: Iterable[str]) -> None:
        now = self.clock()
        for key in keys:
            self._recent(key)
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 100_000:  # bound memory under a spray of names
            self._failures.clear()

    def success(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)
