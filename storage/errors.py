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


class QuotaExceeded(StoreError):
    pass


class StorageFull(StoreError):
    """Free disk space is under the configured reserve."""


class MessageDamaged(StoreError):
    """A stored file failed authentication, its bind stanza, or its checksum."""


class NotADataDirectory(StoreError):
    """The directory exists, is not empty, and was not made by this software."""
