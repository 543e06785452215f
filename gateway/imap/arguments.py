"""IMAP command arguments (RFC 3501 §9): each verb's grammar, into a small typed value.

`grammar(parse)` makes a verb's argument parser: it reads the arguments from the
command's cursor, checks nothing is left, and returns a Request carrying the tag, the
name, the UID flag and the typed arguments. Every error is a ParseError (the session
answers `tag BAD syntax error: ...`), whatever the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .fetch_items import FetchAtt, parse_fetch_items
from .parser import Command, Cursor, ParseError, SequenceSet
from .search import Key, parse_search

ArgsT = TypeVar("ArgsT")


@dataclass(frozen=True)
class Request(Generic[ArgsT]):
    """One parsed command: what every IMAP handler receives besides the session."""

    tag: str
    name: str
    uid: bool
    args: ArgsT


@dataclass(frozen=True)
class NoArgs:
    pass


@dataclass(frozen=True)
class LoginArgs:
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class AuthenticateArgs:
    mechanism: str
    initial: str | None = field(repr=False)  # None: ask with a continuation


@dataclass(frozen=True)
class MailboxArgs:
    mailbox: str


@dataclass(frozen=True)
class ListArgs:
    reference: str
    pattern: str


@dataclass(frozen=True)
class StatusArgs:
    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class IdArgs:
    fields: tuple[bytes | None, ...]


@dataclass(frozen=True)
class StoreArgs:
    set: SequenceSet
    mode: str  # replace, add or remove
    silent: bool
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ExpungeArgs:
    set: SequenceSet | None  # UID EXPUNGE only


@dataclass(frozen=True)
class FetchArgs:
    set: SequenceSet
    items: tuple[FetchAtt, ...]


@dataclass(frozen=True)
class SearchArgs:
    charset: str | None
    key: Key


def grammar(
    parse: Callable[[Cursor, bool], ArgsT],
) -> Callable[[Command], Request[ArgsT]]:
    """A verb's argument parser from `parse(cursor, uid)`."""

    def parse_request(cmd: Command) -> Request[ArgsT]:
        try:
            args = parse(cmd.cursor, cmd.uid)
            cmd.cursor.end()
        except ParseError as exc:
            exc.tag = cmd.tag
            raise
        except (ValueError, IndexError, RecursionError) as exc:  # belt and braces
            raise ParseError(f"malformed command ({type(exc).__name__})", cmd.tag) from None
        return Request(cmd.tag, cmd.name, cmd.uid, args)

    return parse_request


def no_args(cur: Cursor, uid: bool) -> NoArgs:
    return NoArgs()


def ignored(cur: Cursor, uid: bool) -> NoArgs:
    """Commands refused whatever their arguments (APPEND, CREATE, COPY...)."""
    cur.pos = len(cur.data)
    return NoArgs()


def login(cur: Cursor, uid: bool) -> LoginArgs:
    cur.sp()
    user = cur.text_astring("a user name")
    cur.sp()
    return LoginArgs(user, cur.text_astring("a password"))


def authenticate(cur: Cursor, uid: bool) -> AuthenticateArgs:
    cur.sp()
    mechanism = cur.atom("a SASL mechanism").upper()
    initial = None
    if cur.take(b" "):
        initial = cur.run_until(b"\r\n ").decode("ascii", "replace")
        if not initial:
            raise ParseError("expected an initial response")
    return AuthenticateArgs(mechanism, initial)


def mailbox(cur: Cursor, uid: bool) -> MailboxArgs:
    cur.sp()
    return MailboxArgs(cur.text_astring("a mailbox name"))


def list_args(cur: Cursor, uid: bool) -> ListArgs:
    cur.sp()
    reference = cur.text_astring("a reference name")
    cur.sp()
    return ListArgs(reference, cur.list_mailbox())


def status(cur: Cursor, uid: bool) -> StatusArgs:
    name = mailbox(cur, uid).mailbox
    cur.sp()
    cur.expect(b"(")
    items: list[str] = []
    while not cur.take(b")"):
        if items:
            cur.sp()
        items.append(cur.atom("a status item").upper())
    if not items:
        raise ParseError("STATUS needs at least one item")
    return StatusArgs(name, tuple(items))


def id_args(cur: Cursor, uid: bool) -> IdArgs:
    cur.sp()
    if cur.take(b"NIL"):
        return IdArgs(())
    cur.expect(b"(")
    fields: list[bytes | None] = []
    while not cur.take(b")"):
        if fields:
            cur.sp()
        fields.append(cur.nstring_or_nil())
        if len(fields) > 60:
            raise ParseError("too many ID fields")
    return IdArgs(tuple(fields))


def store(cur: Cursor, uid: bool) -> StoreArgs:
    cur.sp()
    sequence = cur.sequence_set()
    cur.sp()
    mode = "replace"
    if cur.take(b"+"):
        mode = "add"
    elif cur.take(b"-"):
        mode = "remove"
    cur.expect(b"FLAGS", "FLAGS, +FLAGS or -FLAGS")
    silent = cur.take(b".SILENT")
    cur.sp()
    if cur.peek() == b"(":
        flags = cur.flag_list()
    else:
        flags = [cur.flag()]
        while cur.take(b" "):
            flags.append(cur.flag())
    return StoreArgs(sequence, mode, silent, tuple(flags))


def expunge(cur: Cursor, uid: bool) -> ExpungeArgs:
    if not uid:
        return ExpungeArgs(None)
    cur.sp()
    return ExpungeArgs(cur.sequence_set())


def fetch(cur: Cursor, uid: bool) -> FetchArgs:
    cur.sp()
    sequence = cur.sequence_set()
    cur.sp()
    return FetchArgs(sequence, tuple(parse_fetch_items(cur)))


def search(cur: Cursor, uid: bool) -> SearchArgs:
    cur.sp()
    charset = None
    if cur.take(b"CHARSET "):
        charset = cur.text_astring("a charset").upper()
        cur.sp()
    return SearchArgs(charset, parse_search(cur))
