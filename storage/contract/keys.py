"""Keyring: a mailbox's key epochs, each an age identity seed sealed under its passphrase.

The store never keeps a passphrase or an unsealed seed; a MailboxKey exists only in the
memory of the session that unlocked it.
"""

from __future__ import annotations

import builtins
from typing import Protocol

from ..keys import SealedSeed
from ..mailbox_key import MailboxKey
from ..models import EpochInfo


class Keyring(Protocol):
    def list_epochs(self, ref: str) -> builtins.list[EpochInfo]:
        """Every epoch of the mailbox, oldest first, with its message count; NotFound."""
        ...

    def current_epoch(self, mailbox_id: str) -> SealedSeed:
        """The newest epoch (new mail is encrypted to it); NotFound without one."""
        ...

    def sealed_message_count(self, mailbox_id: str) -> int:
        """Messages in epochs sealed under an earlier passphrase (after a reset)."""
        ...

    def unlock(self, ref: str, passphrase: str) -> MailboxKey:
        """Open the epochs sealed under `passphrase`.

        WrongPassphrase unless the newest epoch opens (also for text that cannot be a
        passphrase); a wrong passphrase changes nothing. Costs one KDF derivation per
        distinct salt, wrong or right. NotFound for an unknown mailbox.
        """
        ...

    def key_state(self, mailbox_id: str) -> str:
        """A fingerprint of what unlock(mailbox_id, ...) depends on and what decides a
        login: the epoch rows (sealed seeds, salts, states) and the mailbox's status,
        protocols, networks and settings. Any change, passphrase lifecycle included,
        changes it; "" for an unknown mailbox. One indexed read, no KDF."""
        ...

    def burn_unlock_time(self) -> None:
        """Spend what a wrong unlock costs and open nothing (so that a refusal made
        before the KDF takes as long as a wrong passphrase)."""
        ...

    def change_passphrase(self, ref: str, current: str) -> str:
        """Re-seal every epoch `current` opens under a new passphrase, returned once.
        WrongPassphrase (nothing changed) when `current` does not unlock."""
        ...

    def reset_passphrase(self, ref: str) -> str:
        """Start a new epoch under a new passphrase (returned once); older epochs stay
        sealed under the old one (see recover). Forgets the known login clients."""
        ...

    def recover(self, ref: str, old: str, current: str) -> int:
        """Re-seal the sealed epochs `old` opens under `current`; returns how many.
        WrongPassphrase (nothing changed) when `current` does not unlock or `old` opens
        no sealed epoch."""
        ...

    def purge_sealed(self, ref: str) -> int:
        """Irreversibly destroy the sealed epochs and their messages; returns how many
        messages. Epochs the current passphrase opens are never touched."""
        ...

    def export_identity(self, ref: str, passphrase: str) -> str:
        """The epochs `passphrase` opens as a standard age identity file (text).
        WrongPassphrase as unlock. The caller must not log or store the result."""
        ...

    def check_passphrase_shape(self, text: str) -> None:
        """InvalidInput unless `text` looks like a generated passphrase (no KDF run)."""
        ...
