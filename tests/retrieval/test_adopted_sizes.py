"""Adopted orphans (size unknown after a crash) and the login path.

A login waits a bounded time for the sizes of adopted messages (gateway/adopted_sizes.py);
the decryption goes on in the store's thread pool, and the listing stays exact.
"""

from __future__ import annotations

import asyncio
import threading
import time

from gateway.adopted_sizes import FILL_WAIT
from gateway.login import LoginPolicy

BODY = b"Subject: adopted\r\n\r\nleft behind by a crash\r\n" * 40
POLICY = LoginPolicy(failures_before_delay=1000)


def adopt_orphan(store, mailbox_id: str) -> str:
    """A message file renamed into place without its index row, then reconciled."""
    delivery = store.messages.begin_delivery(mailbox_id)
    delivery.write(BODY)
    orphan = delivery.publish()
    assert store.maintenance.reconcile().adopted == [orphan.path]
    assert store.messages.get(mailbox_id, orphan.message_id).size == -1
    return orphan.message_id


async def test_the_first_pop3_session_after_adoption_lists_the_exact_size(serve, store) -> None:
    served = await serve(POLICY)
    adopt_orphan(store, served.mailbox_id)
    reply = await asyncio.to_thread(served.pop3_login, "127.0.0.1")
    assert reply == f"+OK 1 messages ({len(BODY)} octets)"


async def test_a_login_does_not_wait_for_a_slow_fill(serve, store, monkeypatch) -> None:
    served = await serve(POLICY)
    message_id = adopt_orphan(store, served.mailbox_id)
    release = threading.Event()
    calls = []
    real_fill = store.messages.fill_unknown_sizes

    def slow_fill(key):  # many or large orphans: the decryption takes long
        calls.append(key.mailbox_id)
        release.wait(20)
        return real_fill(key)

    monkeypatch.setattr(store.messages, "fill_unknown_sizes", slow_fill)
    safety = threading.Timer(10, release.set)  # so that a login that waits ends anyway
    safety.start()
    try:
        started = time.monotonic()
        reply = await asyncio.to_thread(served.pop3_login, "127.0.0.1")
        waited = time.monotonic() - started
        assert waited < FILL_WAIT + 3, f"the login waited {waited:.1f} s for the fill"
        # Offered only once its size is known, never with a wrong one.
        assert reply == "+OK 0 messages (0 octets)"
        # A second login while the first fill runs does not start another one.
        assert await asyncio.to_thread(served.pop3_login, "127.0.0.1") == reply
        assert calls == [served.mailbox_id]
        release.set()
        for _ in range(100):
            if store.messages.get(served.mailbox_id, message_id).size >= 0:
                break
            await asyncio.sleep(0.05)
        assert store.messages.get(served.mailbox_id, message_id).size == len(BODY)
        reply = await asyncio.to_thread(served.pop3_login, "127.0.0.1")
        assert reply == f"+OK 1 messages ({len(BODY)} octets)"
    finally:
        release.set()
        safety.cancel()
