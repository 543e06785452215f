"""Robots: one auto-reply robot per mailbox, and the memory of whom it answered when.

The memory holds keyed digests of sender addresses (HMAC-SHA256 under a key derived
from the gateway's seal key, bound to the mailbox), never an address in clear: a copy
of the index does not tell who wrote to a mailbox.
"""

from __future__ import annotations

from typing import Protocol

from ..robot_rules import Robot, RobotSettings


class Robots(Protocol):
    def get(self, mailbox_id: str) -> Robot | None:
        """The mailbox's robot, or None."""
        ...

    def set(self, mailbox_id: str, settings: RobotSettings) -> Robot:
        """Create or replace the robot (settings checked by robot_rules.check_robot);
        NotFound for no such mailbox. Replacing it keeps the reply memory."""
        ...

    def clear(self, mailbox_id: str) -> bool:
        """Remove the robot and its reply memory; False when there was none."""
        ...

    def claim_reply(self, mailbox_id: str, sender: str, now: float, interval: float) -> bool:
        """True (and `now` remembered for the sender) when `sender` was not answered by
        this mailbox's robot in the `interval` seconds before `now`; False otherwise.
        Atomic: of two concurrent claims for one sender, one wins. SealError without a
        usable seal key (then nothing is remembered, and nobody should be answered)."""
        ...

    def release_reply(self, mailbox_id: str, sender: str, claimed_at: float) -> None:
        """Undo the claim made at `claimed_at` (the reply could not be sent), so that the
        sender's next message is answered; a later claim is left alone."""
        ...
