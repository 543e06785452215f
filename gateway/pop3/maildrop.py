"""A POP3 session's view of its mailbox, and the process-wide one-session-per-mailbox lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from storage import MailboxKey, MessageInfo

log = logging.getLogger("gateway.pop3")


class MailboxLocks:
    """Mailboxes that have a POP3 session in TRANSACTION state in this process."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    def acquire(self, mailbox_id: str) -> bool:
        if mailbox_id in self._held:
            return False
        self._held.add(mailbox_id)
        return True

    def release(self, mailbox_id: str) -> None:
        self._held.discard(mailbox_id)

    def __contains__(self, mailbox_id: str) -> bool:
        return mailbox_id in self._held


# One registry for every POP3 listener of the process (STLS and POP3S alike).
IN_USE = MailboxLocks()


@dataclass
class Maildrop:
    """The messages present at login, numbered from 1, and the deletion marks.

    Messages that this key cannot read (sealed under an earlier passphrase) or whose
    size is unknown (a damaged adopted file) are not offered.
    """

    mailbox_id: str
    messages: list[MessageInfo]
    deleted: set[int] = field(default_factory=set)

    @classmethod
    def snapshot(cls, mailbox_id: str, key: MailboxKey, listed: list[MessageInfo]) -> Maildrop:
        offered = [m for m in listed if key.can_read(m.epoch) and m.size >= 0]
        hidden = len(listed) - len(offered)
        if hidden:
            log.warning(
                "pop3 %s: %d messages not offered (sealed under an earlier passphrase, or damaged)",
                mailbox_id,
                hidden,
            )
        return cls(mailbox_id, offered)

    def get(self, number: int) -> MessageInfo | None:
        """Message `number` (1-based) unless it does not exist or is marked deleted."""
        if number < 1 or number > len(self.messages) or number in self.deleted:
            return None
        return self.messages[number - 1]

    def exists(self, number: int) -> bool:
        return 1 <= number <= len(self.messages)

    def live(self) -> list[tuple[int, MessageInfo]]:
        return [(n, m) for n, m in enumerate(self.messages, 1) if n not in self.deleted]

    def stat(self) -> tuple[int, int]:
        live = self.live()
        return len(live), sum(m.size for _, m in live)

    def mark_deleted(self, number: int) -> None:
        self.deleted.add(number)

    def reset(self) -> None:
        self.deleted.clear()

    def marked_ids(self) -> list[str]:
        return [self.messages[n - 1].id for n in sorted(self.deleted)]
