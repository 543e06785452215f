"""An overdue passphrase (maximum age passed) and a reset lock never block retrieval."""

from __future__ import annotations

import asyncio
import poplib
import time

from storage import policy
from tests.support.mail import sample_message
from tests.support.policy import age_passphrase

from .conftest import Pop3Server


async def test_an_overdue_locked_mailbox_still_logs_in_and_retrieves(
    pop3: Pop3Server, client_tls
) -> None:
    pop3.deliver(sample_message(1))
    pop3.store.mailboxes.update(
        pop3.mailbox_id,
        settings_update={**policy.max_age_update(90), **policy.reset_lock_update(True)},
    )
    age_passphrase(pop3.store, pop3.mailbox_id, 400)
    mailbox = pop3.store.mailboxes.get(pop3.mailbox_id)
    assert policy.passphrase_age(mailbox, time.time()).overdue

    def session() -> bytes:
        client = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
        client.stls(context=client_tls)
        client.user(pop3.alias)
        assert client.pass_(pop3.passphrase).startswith(b"+OK")
        _, lines, _ = client.retr(1)
        client.quit()
        return b"\r\n".join(lines) + b"\r\n"

    retrieved = await asyncio.to_thread(session)
    assert retrieved.endswith(sample_message(1))
