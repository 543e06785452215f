"""Make a mailbox's passphrase old, as time would: the index row as an older day left it.

The gateway records when a passphrase was set; waiting months in a test is not an
option, so this moves that record back. It is the only write a test makes to the index
behind the store's back, and it touches no key or message.
"""

from __future__ import annotations

import time

DAY = 86400.0


def age_passphrase(store, mailbox_id: str, days: float) -> float:
    """Pretend the passphrase of `mailbox_id` was set `days` ago; returns that time."""
    when = time.time() - days * DAY
    with store.db.write() as conn:
        conn.execute("UPDATE mailboxes SET passphrase_set_at=? WHERE id=?", (when, mailbox_id))
    return when
