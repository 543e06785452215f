"""Store errors. Messages are safe to show to an admin: never a secret, never content.

An error may be raised with a message template and its values,
`AlreadyExists("address {address} is already in use", address=address)`: str(exc) is the
English sentence the CLI and the API show, and the console translates `exc.template`
(the German catalogue holds these templates) before filling in `exc.params`.
"""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """Base class for every error the store reports."""

    def __init__(self, template: str = "", /, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params) if params else template)


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class InvalidInput(StoreError):
    pass


class WrongPassphrase(StoreError):
    def __init__(self, template: str = "wrong passphrase", /, **params: Any) -> None:
        super().__init__(template, **params)


class NotEmpty(StoreError):
    pass


class OutOfScope(StoreError):
    """The acting admin may not use this domain: it is not one of theirs (storage/policy.py).

    `address` is None for the domain of a new mailbox (its primary address).
    """

    def __init__(self, template: str, /, *, domain: str, address: str | None = None) -> None:
        self.domain = domain
        self.address = address
        extra = {"address": address} if address else {}
        super().__init__(template, domain=domain, **extra)


class Forbidden(StoreError):
    """The acting admin's role does not allow this act (storage/actions)."""


class NotDeletable(StoreError):
    """The mailbox takes mail now: only one on hold or disabled may be deleted."""


class ConfirmationNeeded(InvalidInput):
    """The act needs a typed confirmation (the mailbox id) that was not given."""


class WrongPassword(StoreError):
    """An admin's own password, asked again before a change to their account, is wrong."""


class DomainInUse(NotEmpty):
    """A domain cannot be removed while any address is in it (also aliases elsewhere)."""

    def __init__(
        self, template: str, /, *, domain: str, listing: str, mailboxes: list[str]
    ) -> None:
        self.domain = domain
        self.mailboxes = tuple(mailboxes)  # ids of the mailboxes holding such addresses
        super().__init__(template, domain=domain, listing=listing)


class QuotaExceeded(StoreError):
    pass


class StorageFull(StoreError):
    """Free disk space is under the configured reserve."""


class MessageDamaged(StoreError):
    """A stored file failed authentication, its bind stanza, or its checksum."""


class NotADataDirectory(StoreError):
    """The directory exists, is not empty, and was not made by this software."""


class SealError(StoreError):
    """A gateway secret (e.g. a TOTP seed) cannot be sealed or unsealed: no seal key,
    another key than the one it was sealed with, or a damaged sealed value.

    Its messages go to the log and the CLI (the console shows its own text), so they are
    f-strings, not templates for translation."""
