"""In-process change notifications (new mail, expunges, flag changes) per mailbox.

IMAP IDLE and concurrent sessions subscribe; the store publishes after each commit.
Callbacks run on the publishing thread and must be cheap and thread-safe (an asyncio
listener should use loop.call_soon_threadsafe).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

Listener = Callable[[str, str], None]  # (mailbox_id, event)


class MailboxEvents:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def subscribe(self, mailbox_id: str, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners[mailbox_id].append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners.get(mailbox_id, []):
                    self._listeners[mailbox_id].remove(listener)

        return unsubscribe

    def publish(self, mailbox_id: str, event: str) -> None:
        with self._lock:
            listeners = list(self._listeners.get(mailbox_id, []))
        for listener in listeners:
            listener(mailbox_id, event)
