"""RCPT decisions (DESIGN §4): mailbox status, quota and disk space → reply code."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from storage import Mailbox, QuotaExceeded, StorageFull

from . import replies

log = logging.getLogger("gateway.smtp")


@dataclass(frozen=True)
class RcptDecision:
    reply: str
    mailbox: Mailbox | None = None  # set when the recipient is accepted
    relays: bool = False  # the mailbox had relay targets when the RCPT was accepted

    @property
    def accepted(self) -> bool:
        return self.mailbox is not None


def decide_recipient(store: Any, address: str, size_hint: int) -> RcptDecision:
    """Look the address up and check the mailbox can take a message now.

    Runs on the store's thread pool (it calls the synchronous store). Any unexpected
    error is a temporary failure: the sender keeps the message and retries.
    """
    if "@" not in address:  # a bare mailbox id is a login name, not an address
        return RcptDecision(replies.UNKNOWN_RECIPIENT)
    try:
        mailbox = store.mailboxes.find(address)
        if mailbox is None:
            return RcptDecision(replies.UNKNOWN_RECIPIENT)
        if mailbox.status == "hold":
            return RcptDecision(replies.MAILBOX_ON_HOLD)
        if mailbox.status == "disabled":
            return RcptDecision(replies.MAILBOX_DISABLED)
        if not mailbox.accepts_mail():
            return RcptDecision(replies.STORAGE_ERROR)
        store.messages.check_can_receive(mailbox.id, size_hint)
        # Asked here, in the hop the RCPT makes anyway, so that a message to mailboxes
        # without relay targets costs no store call for relaying at DATA.
        relays = bool(store.relays.list(mailbox.id))
    except QuotaExceeded:
        return RcptDecision(replies.OVER_QUOTA)
    except StorageFull:
        return RcptDecision(replies.DISK_LOW)
    except Exception as exc:  # any storage fault must become a 4xx
        log.error("smtp: recipient check failed (%s)", type(exc).__name__, exc_info=exc)
        return RcptDecision(replies.STORAGE_ERROR)
    return RcptDecision(replies.RECIPIENT_OK, mailbox, relays)
