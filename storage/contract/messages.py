"""Messages: durable delivery, listing, reading, flags and deletion.

A message is visible (listed, counted, readable) only after commit_deliveries returned
for it, and then it is durable: on disk and in the index, fsynced. Files are never
changed after commit; deletion removes the index row first, then the file.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from typing import Protocol

from ..delivery import Delivery
from ..mailbox_key import MailboxKey
from ..models import ListedMessage, MessageInfo


class Messages(Protocol):
    def check_can_receive(self, mailbox_id: str, size_hint: int = 0) -> None:
        """QuotaExceeded or StorageFull when a message of about `size_hint` bytes should be
        refused now (a temporary failure for the sender); NotFound for no mailbox."""
        ...

    def begin_delivery(self, mailbox_id: str) -> Delivery:
        """A new message file encrypted to the mailbox's current epoch, not yet visible.
        The caller writes to it, then commits it (commit_deliveries) or aborts it."""
        ...

    def commit_deliveries(self, deliveries: builtins.list[Delivery]) -> builtins.list[MessageInfo]:
        """Make the copies durable and visible together (one SMTP transaction's copies).

        On return every copy is fsynced and indexed. On any error every copy is removed
        and the error raised: never half-stored (NotFound when a mailbox was deleted
        meanwhile). Never call it inside atomic().
        """
        ...

    def list(self, mailbox_id: str) -> builtins.list[MessageInfo]:
        """The mailbox's committed messages in UID order."""
        ...

    def listing(self, mailbox_id: str) -> builtins.list[ListedMessage]:
        """The same messages as list(), in UID order, with only id, uid, epoch, size and
        flags: what a POP3 login needs, cheaply for a mailbox of thousands."""
        ...

    def from_uid(self, mailbox_id: str, uid: int, limit: int) -> builtins.list[MessageInfo]:
        """Up to `limit` whole messages with a UID of at least `uid`, in UID order: what
        a POP3 session reads ahead of its RETRs, a page at a time."""
        ...

    def next_uid(self, mailbox_id: str) -> int:
        """The UID the next message will get (IMAP UIDNEXT); never decreases. NotFound."""
        ...

    def get(self, mailbox_id: str, message_id: str) -> MessageInfo:
        """One message of that mailbox; NotFound (also when it is another mailbox's)."""
        ...

    def read(self, key: MailboxKey, message: MessageInfo) -> Iterator[bytes]:
        """Authenticated plaintext in chunks of at most 64 KiB.

        MessageDamaged on any fault: another mailbox's key, an epoch the key does not
        open, a missing or altered file; possibly after some chunks, so a streaming
        consumer must then drop its connection. Never yields unauthenticated bytes.
        """
        ...

    def fill_unknown_sizes(self, key: MailboxKey) -> int:
        """Record the plaintext size of adopted messages (unknown until a key opens
        them); returns how many were filled. Damaged ones are skipped."""
        ...

    def set_flags(
        self,
        mailbox_id: str,
        message_ids: Iterable[str],
        flags: Iterable[str],
        mode: str = "add",
    ) -> builtins.list[MessageInfo]:
        """Add, remove or replace (`mode`) flags in one transaction; returns the changed
        messages. Ids not in the mailbox are skipped, never an error."""
        ...

    def delete(self, mailbox_id: str, message_ids: Iterable[str]) -> int:
        """Delete messages of that mailbox (rows in one transaction, then the files);
        returns how many. Ids not in the mailbox are skipped and never touched."""
        ...

    def change_seq(self, mailbox_id: str) -> int:
        """A number that grows with every committed delivery, flag change or expunge in
        the mailbox, whichever process (or node) made it; 0 before the first. Cheap (one
        row): a session that must notice other processes' changes (IMAP IDLE) compares
        it with the last one it saw. NotFound once the mailbox is deleted."""
        ...

    def received_since(self, mailbox_id: str, since: float) -> int:
        """How many messages the mailbox received at or after `since` (Unix time)."""
        ...
