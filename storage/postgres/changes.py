"""Change notifications across nodes: PostgreSQL LISTEN/NOTIFY into the store's events.

Schema version 4 makes the mailbox change feed's triggers `pg_notify('mailbox_changes',
<mailbox id>)`, delivered when the change commits. The first subscriber of a store
starts one listening thread with its own connection; each notification is published to
the in-process events (storage/events.py) as "changed", which wakes IMAP sessions and
AsyncMessages.wait_for_change. Notifications sent by this store's own connections are
skipped: the store published its own changes already, precisely ("exists", "expunge").
A lost connection is retried; meanwhile the waiters keep polling change_seq, so nothing
is missed, only later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import psycopg

from ..errors import StoreError
from ..events import Listener, MailboxEvents

log = logging.getLogger("storage.postgres")

CHANNEL = "mailbox_changes"
RETRY_SECONDS = 1.0
WAIT_SECONDS = 0.5  # how soon the thread notices it should stop


class NotifiedEvents(MailboxEvents):
    """MailboxEvents that also carry other nodes' changes (from `connect`'s LISTEN)."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        own_backends: Callable[[], set[int]],
    ) -> None:
        super().__init__()
        self._connect = connect
        self._own_backends = own_backends
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.listening = threading.Event()  # set while LISTEN is in effect

    def subscribe(self, mailbox_id: str, listener: Listener) -> Callable[[], None]:
        self._start()
        return super().subscribe(mailbox_id, listener)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="index-listen", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except (psycopg.Error, StoreError) as exc:
                self.listening.clear()
                log.warning("index notifications lost (%s); polling until back", type(exc).__name__)
                self._stop.wait(RETRY_SECONDS)

    def _listen(self) -> None:
        with self._connect() as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            while not self._stop.is_set():
                for notice in conn.notifies(timeout=WAIT_SECONDS):
                    if notice.payload and notice.pid not in self._own_backends():
                        self.publish(notice.payload, "changed")
        self.listening.clear()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            with suppress(RuntimeError):
                thread.join(timeout=WAIT_SECONDS * 4)
