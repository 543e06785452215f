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
