"""Where a message being read from a source goes: chunk by chunk into its Delivery.

Memory stays bounded (one chunk at a time, as SMTP DATA). A message over the size
limit, or one that does not start with a header field, stops being written (the
delivery is aborted at once, freeing the space); the reader keeps consuming the rest
of the message so the session stays usable, and the fetcher records the skip.
"""

from __future__ import annotations

import re
from typing import Any

_HEADER_START = re.compile(rb"^[!-9;-~]+:")  # a field name (RFC 5322 ftext), then ':'


class MessageSink:
    def __init__(self, delivery: Any, limit: int) -> None:
        self._delivery = delivery
        self._limit = limit
        self._head: bytes | None = b""
        self.size = 0
        self.problem = ""  # why the message is skipped, once known

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.problem:
            return
        if self.size > self._limit:
            self._fail(f"over the size limit of {self._limit} bytes")
            return
        if self._head is not None:
            self._head += chunk
            if len(self._head) < 1000 and b"\n" not in self._head:
                return
            head, self._head = self._head, None
            if not _HEADER_START.match(head):
                self._fail("malformed: it does not start with a header field")
                return
            chunk = head
        self._delivery.write(chunk)

    def finish(self) -> None:
        """Called after the last chunk: an empty or header-less message is malformed."""
        if self.problem or self._head is None:
            return
        head, self._head = self._head, None
        if not _HEADER_START.match(head):
            self._fail("malformed: it does not start with a header field")
        else:
            self._delivery.write(head)

    def _fail(self, problem: str) -> None:
        self.problem = problem
        self._delivery.abort()
