"""What the POP3 and IMAP fixtures hand a test: a running service and one mailbox.

The service runs on the test's event loop; tests write their client side as plain
functions (poplib, imaplib, sockets, subprocesses) and run them with
`await asyncio.to_thread(...)`, so the loop keeps serving while the client blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.context import GatewayContext
from storage import Mailbox, MessageInfo

from .mail import deliver


@dataclass
class ServedMailbox:
    service: Any  # the running Pop3Service or ImapService
    ctx: GatewayContext
    store: Any  # the synchronous store, for arranging and checking
    mailbox_id: str
    alias: str
    passphrase: str
    data_dir: Path

    @classmethod
    def serving(
        cls,
        service: Any,
        ctx: GatewayContext,
        store: Any,
        data_dir: Path,
        mailbox: tuple[Mailbox, str],
        **extra: Any,
    ) -> Any:
        """`service` serving the root fixture's `mailbox` ((Mailbox, passphrase))."""
        mbx, passphrase = mailbox
        return cls(service, ctx, store, mbx.id, mbx.aliases[0], passphrase, data_dir, **extra)

    def deliver(self, raw: bytes) -> MessageInfo:
        """Store one message as the SMTP ingest would (raw must use CRLF line endings)."""
        return deliver(self.store, self.mailbox_id, raw)

    def messages(self) -> list[MessageInfo]:
        return self.store.messages.list(self.mailbox_id)
