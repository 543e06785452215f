"""Store errors. Messages are safe to show to an admin: never a secret, never content."""


class StoreError(Exception):
    """Base class for every error the store reports."""


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class InvalidInput(StoreError):
    pass


class WrongPassphrase(StoreError):
    def __init__(self, message: str = "wrong passphrase") -> None:
        super().__init__(message)


class NotEmpty(StoreError):
    pass


class OutOfScope(StoreError):
    """The acting admin may not use this domain: it is not one of theirs (storage/policy.py)."""

    def __init__(self, domain: str, address: str | None = None) -> None:
        self.domain = domain
        self.address = address  # None: the domain of a new mailbox (its primary address)
        reason = f"{domain} is not one of your domains"
        super().__init__(f"{address}: {reason}" if address else reason)


class DomainInUse(NotEmpty):
    """A domain cannot be removed while any address is in it (also aliases elsewhere)."""

    def __init__(self, domain: str, mailboxes: list[str], listing: str) -> None:
        self.domain = domain
        self.mailboxes = tuple(mailboxes)  # ids of the mailboxes holding such addresses
        super().__init__(
            f"domain {domain} still has mailboxes or aliases: {listing};"
            " delete those mailboxes or remove those aliases first"
        )


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
    another key than the one it was sealed with, or a damaged sealed value."""
