"""LoginClients: the addresses each mailbox was successfully opened from (bounded, recent
first), so the login scheduler serves a mailbox's own archiver ahead of strangers."""

from __future__ import annotations

import builtins
from typing import Protocol


class LoginClients(Protocol):
    def record(self, mailbox_id: str, client_address: str = "") -> None:
        """A successful login: the mailbox's last_login, and the address known. A mailbox
        deleted meanwhile gets no entry. Forgotten on passphrase reset and deletion."""
        ...

    def known(self, mailbox_id: str) -> builtins.list[str]:
        """The addresses remembered, most recent login first."""
        ...

    def is_known(self, mailbox_id: str, client_address: str) -> bool: ...
