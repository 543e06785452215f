"""The ways an age file can fail, named as the age test vectors name them."""


class AgeError(Exception):
    """Any failure to parse or decrypt an age file. Messages never carry key material."""


class HeaderError(AgeError):
    """The header is malformed (bad version, stanza, base64 or MAC line)."""


class NoMatchError(AgeError):
    """No stanza in the header could be opened with the given identities."""


class MacError(AgeError):
    """The header MAC does not authenticate the header."""


class PayloadError(AgeError):
    """The payload is truncated, tampered with, or has trailing bytes.

    `released` holds plaintext that authenticated during the failing call (a valid
    chunk followed by a fault): streaming consumers may see it, as age allows.
    """

    def __init__(self, message: str, released: bytes = b"") -> None:
        super().__init__(message)
        self.released = released
