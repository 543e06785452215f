"""POP3 command arguments, parsed into small typed values before a handler runs.

Each parser takes the argument text exactly as sent (everything after the first
space) and raises BadArguments carrying the usage, answered `-ERR syntax: VERB usage`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..retrieval.dispatch import BadArguments

MAX_NUMBER_DIGITS = 20
MESSAGE = "<message number>"
TOP_USAGE = "<message number> <lines>"
AUTH_USAGE = "<mechanism> [<initial response>]"


@dataclass(frozen=True)
class NoArgs:
    pass


@dataclass(frozen=True)
class MessageNumber:
    number: int


@dataclass(frozen=True)
class ListingArgs:
    number: int | None  # None: the whole listing


@dataclass(frozen=True)
class TopArgs:
    number: int
    lines: int


@dataclass(frozen=True)
class Text:
    """USER's name or PASS's passphrase, unchecked: the handler says what is missing."""

    value: str = field(repr=False)


@dataclass(frozen=True)
class AuthArgs:
    mechanism: str | None  # None: list the mechanisms
    initial: str | None = field(default=None, repr=False)  # None: ask with a continuation


def parse_number(text: str) -> int | None:
    """A non-negative decimal number, or None when `text` is not one."""
    if not text.isascii() or not text.isdigit() or len(text) > MAX_NUMBER_DIGITS:
        return None
    return int(text)


def no_args(arg: str) -> NoArgs:
    if arg:
        raise BadArguments("")
    return NoArgs()


def message_number(arg: str) -> MessageNumber:
    number = parse_number(arg)
    if number is None:
        raise BadArguments(MESSAGE)
    return MessageNumber(number)


def listing(arg: str) -> ListingArgs:
    return ListingArgs(message_number(arg).number if arg else None)


def top(arg: str) -> TopArgs:
    parts = arg.split(" ")
    if len(parts) != 2:
        raise BadArguments(TOP_USAGE)
    number, lines = parse_number(parts[0]), parse_number(parts[1])
    if number is None or lines is None:
        raise BadArguments(TOP_USAGE)
    return TopArgs(number, lines)


def text(arg: str) -> Text:
    return Text(arg)


def auth(arg: str) -> AuthArgs:
    if not arg:
        return AuthArgs(None)
    parts = arg.split(" ")
    if len(parts) > 2:
        raise BadArguments(AUTH_USAGE)
    return AuthArgs(parts[0].upper(), parts[1] if len(parts) == 2 else None)
