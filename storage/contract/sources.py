"""Sources: the external POP3/IMAP mailboxes a mailbox fetches from (storage/sources.py),
their last run, and which of their messages were already fetched.

Credentials are sealed under the gateway's seal key (the Sealing area) on every write
and only `secret()` opens them; records never hold them. Tracking is per source and
folder: a folder's UIDVALIDITY (0 for POP3) and the keys fetched or skipped there.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from typing import Protocol

from ..delivery import Delivery
from ..models import MessageInfo
from ..sources import FetchedKey, Skipped, Source, SourceSettings


class Sources(Protocol):
    def add(
        self,
        mailbox_id: str,
        name: str,
        settings: SourceSettings,
        secret: Mapping[str, str],
        *,
        comment: str = "",
        active: bool = True,
    ) -> Source:
        """A new source of that mailbox. NotFound for no mailbox; AlreadyExists when the
        mailbox has a source of that name; SealError without a usable seal key."""
        ...

    def get(self, source_id: str) -> Source:
        """NotFound when there is none."""
        ...

    def list(self, mailbox_id: str | None = None) -> builtins.list[Source]:
        """Every source (of one mailbox), by mailbox then name."""
        ...

    def update(
        self,
        source_id: str,
        *,
        name: str | None = None,
        settings: SourceSettings | None = None,
        secret: Mapping[str, str] | None = None,
        active: bool | None = None,
        comment: str | None = None,
    ) -> Source:
        """Change what is given. A new protocol, host, port or user name forgets what
        was fetched (another mailbox at the source). NotFound; AlreadyExists."""
        ...

    def remove(self, source_id: str) -> None:
        """The source, its tracking and its sealed credentials. NotFound."""
        ...

    def secret(self, source_id: str) -> dict[str, str]:
        """The unsealed credentials. NotFound; SealError without the right seal key."""
        ...

    def record_run(
        self, source_id: str, *, at: float, count: int, error: str, failed: bool
    ) -> Source:
        """The outcome of a run: its time, how many messages it stored, its error ("" for
        none). A failed run marks the source failing and counts the failures in a row;
        a successful one clears both and sets last_success. NotFound."""
        ...

    def folder_state(self, source_id: str, folder: str) -> tuple[int | None, set[str]]:
        """(the folder's recorded UIDVALIDITY or None, the keys fetched or skipped)."""
        ...

    def reset_folder(self, source_id: str, folder: str, uidvalidity: int) -> int:
        """Record a folder's (new) UIDVALIDITY and forget its keys; returns how many."""
        ...

    def forget_missing(self, source_id: str, folder: str, present: Collection[str]) -> int:
        """Forget the keys of a folder no longer at the source; returns how many."""
        ...

    def commit_fetched(self, source_id: str, where: FetchedKey, delivery: Delivery) -> MessageInfo:
        """Make a fetched message durable and visible, and record its key as fetched,
        in one transaction: after a crash either both are there or neither (the file is
        then reconciled as any uncommitted delivery). On error the delivery is removed
        and the error raised. Never call it inside atomic()."""
        ...

    def skip(self, source_id: str, where: FetchedKey, reason: str, size: int) -> None:
        """Record a message that was not imported (so later runs pass over it too)."""
        ...

    def skipped(self, source_id: str) -> builtins.list[Skipped]:
        """The messages recorded as not imported, newest first."""
        ...
