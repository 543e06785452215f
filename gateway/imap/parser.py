"""IMAP command parser (RFC 3501 §9 grammar, the subset this server speaks).

`parse_command(data)` takes one complete command as it came off the wire, literals
included (`{n}`/`{n+}` CRLF followed by n octets), and returns a Command or raises
ParseError carrying the tag when one could be read (the caller answers `tag BAD` or
`* BAD`). It never raises anything else, whatever the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .wire import parse_date

# ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ]
_ATOM_SPECIALS = frozenset(b'(){ %*"\\]')
MAX_NUMBER = 2**32 - 1


def _is_atom_char(b: int) -> bool:
    return 0x20 < b < 0x7F and b not in _ATOM_SPECIALS


class ParseError(Exception):
    def __init__(self, message: str, tag: str | None = None) -> None:
        super().__init__(message)
        self.tag = tag


@dataclass(frozen=True)
class SeqRange:
    """first:last; None stands for `*` (the largest number in use)."""

    first: int | None
    last: int | None


SequenceSet = tuple[SeqRange, ...]


@dataclass
class Command:
    tag: str
    name: str  # upper case; for UID commands the sub-command, with uid=True
    uid: bool = False
    args: dict[str, Any] = field(default_factory=dict)


class Cursor:
    """Reads IMAP tokens from a bytes buffer; every method raises ParseError on bad input."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    # --- primitives ----------------------------------------------------------------
    def peek(self, n: int = 1) -> bytes:
        return self.data[self.pos : self.pos + n]

    def take(self, token: bytes) -> bool:
        """Consume `token` (case-insensitive) if it is next."""
        if self.data[self.pos : self.pos + len(token)].upper() == token.upper():
            self.pos += len(token)
            return True
        return False

    def expect(self, token: bytes, what: str | None = None) -> None:
        if not self.take(token):
            raise ParseError(f"expected {what or token.decode()}")

    def sp(self) -> None:
        self.expect(b" ", "a space")

    def at_end(self) -> bool:
        return self.data[self.pos :] in (b"\r\n", b"\n", b"")

    def end(self) -> None:
        if not self.at_end():
            raise ParseError("unexpected characters at the end of the command")

    def _run(self, accept) -> bytes:
        start = self.pos
        while self.pos < len(self.data) and accept(self.data[self.pos]):
            self.pos += 1
        return self.data[start : self.pos]

    # --- tokens ----------------------------------------------------------------------
    def atom(self, what: str = "an atom") -> str:
        raw = self._run(_is_atom_char)
        if not raw:
            raise ParseError(f"expected {what}")
        return raw.decode("ascii")

    def number(self, nonzero: bool = False) -> int:
        raw = self._run(lambda b: 0x30 <= b <= 0x39)
        if not raw or len(raw) > 10:
            raise ParseError("expected a number")
        value = int(raw)
        if value > MAX_NUMBER or (nonzero and value == 0):
            raise ParseError("number out of range")
        return value

    def quoted(self) -> bytes:
        self.expect(b'"')
        out = bytearray()
        while True:
            b = self.data[self.pos : self.pos + 1]
            if not b or b in b"\r\n":
                raise ParseError("unterminated quoted string")
            self.pos += 1
            if b == b'"':
                return bytes(out)
            if b == b"\\":
                escaped = self.data[self.pos : self.pos + 1]
                if escaped not in (b'"', b"\\"):
                    raise ParseError("bad escape in quoted string")
                self.pos += 1
                b = escaped
            out += b

    def literal(self) -> bytes:
        self.expect(b"{")
        size = self.number()
        self.take(b"+")
        self.expect(b"}")
        if not (self.take(b"\r\n") or self.take(b"\n")):
            raise ParseError("a literal must end its line")
        if self.pos + size > len(self.data):
            raise ParseError("literal shorter than announced")
        value = self.data[self.pos : self.pos + size]
        self.pos += size
        return value

    def string(self) -> bytes:
        if self.peek() == b'"':
            return self.quoted()
        if self.peek() == b"{":
            return self.literal()
        raise ParseError("expected a string")

    def astring(self, what: str = "a string") -> bytes:
        if self.peek() in (b'"', b"{"):
            return self.string()
        raw = self._run(lambda b: _is_atom_char(b) or b == 0x5D)
        if not raw:
            raise ParseError(f"expected {what}")
        return raw

    def text_astring(self, what: str = "a string") -> str:
        return self.astring(what).decode("utf-8", "replace")

    def nstring_or_nil(self) -> bytes | None:
        after = self.data[self.pos + 3 : self.pos + 4]
        if self.peek(3).upper() == b"NIL" and not (after and _is_atom_char(after[0])):
            self.pos += 3
            return None
        return self.string()

    def list_mailbox(self) -> str:
        if self.peek() in (b'"', b"{"):
            return self.string().decode("utf-8", "replace")
        raw = self._run(lambda b: _is_atom_char(b) or b in b"%*]")
        if not raw:
            raise ParseError("expected a mailbox pattern")
        return raw.decode("ascii")

    def sequence_set(self) -> SequenceSet:
        ranges = []
        while True:
            first = self._seq_number()
            last = first
            if self.take(b":"):
                last = self._seq_number()
            ranges.append(SeqRange(first, last))
            if not self.take(b","):
                return tuple(ranges)

    def _seq_number(self) -> int | None:
        if self.take(b"*"):
            return None
        return self.number(nonzero=True)

    def date(self) -> tuple[int, int, int]:
        if self.peek() == b'"':
            text = self.quoted().decode("ascii", "replace")
        else:
            text = self._run(lambda b: _is_atom_char(b)).decode("ascii")
        value = parse_date(text)
        if value is None:
            raise ParseError("expected a date like 1-Feb-2024")
        return value

    def flag(self) -> str:
        if self.take(b"\\"):
            return "\\" + self.atom("a flag").capitalize()
        return self.atom("a flag")

    def flag_list(self) -> list[str]:
        self.expect(b"(")
        flags: list[str] = []
        while not self.take(b")"):
            if flags:
                self.sp()
            flags.append(self.flag())
        return flags


# --- commands ------------------------------------------------------------------------


def parse_tag(cur: Cursor) -> str:
    raw = cur._run(lambda b: (_is_atom_char(b) or b == 0x5D) and b != 0x2B)
    if not raw:
        raise ParseError("missing or invalid tag")
    return raw.decode("ascii")


def parse_command(data: bytes) -> Command:
    cur = Cursor(data)
    tag = parse_tag(cur)
    try:
        cur.sp()
        name = cur.atom("a command name").upper()
        command = Command(tag, name)
        if name == "UID":
            cur.sp()
            command.uid = True
            command.name = cur.atom("a UID command").upper()
            if command.name not in UID_COMMANDS:
                raise ParseError(f"UID {command.name} is not a UID command")
        grammar = GRAMMAR.get(command.name)
        if grammar is None:
            raise ParseError(f"unknown command {name[:40]}")
        command.args = grammar(cur, command)
        cur.end()
        return command
    except ParseError as exc:
        exc.tag = tag
        raise
    except (ValueError, IndexError, RecursionError) as exc:  # belt and braces
        raise ParseError(f"malformed command ({type(exc).__name__})", tag) from None


def _none(cur: Cursor, cmd: Command) -> dict[str, Any]:
    return {}


def _login(cur: Cursor, cmd: Command) -> dict[str, Any]:
    cur.sp()
    user = cur.text_astring("a user name")
    cur.sp()
    password = cur.text_astring("a password")
    return {"user": user, "password": password}


def _authenticate(cur: Cursor, cmd: Command) -> dict[str, Any]:
    cur.sp()
    mechanism = cur.atom("a SASL mechanism").upper()
    initial = None
    if cur.take(b" "):
        initial = cur._run(lambda b: b not in b"\r\n ").decode("ascii", "replace")
        if not initial:
            raise ParseError("expected an initial response")
    return {"mechanism": mechanism, "initial": initial}


def _mailbox(cur: Cursor, cmd: Command) -> dict[str, Any]:
    cur.sp()
    return {"mailbox": cur.text_astring("a mailbox name")}


def _rest(cur: Cursor, cmd: Command) -> dict[str, Any]:
    """Commands refused whatever their arguments (APPEND, CREATE, COPY...)."""
    cur.pos = len(cur.data)
    return {}


def _list(cur: Cursor, cmd: Command) -> dict[str, Any]:
    cur.sp()
    reference = cur.text_astring("a reference name")
    cur.sp()
    return {"reference": reference, "pattern": cur.list_mailbox()}


def _status(cur: Cursor, cmd: Command) -> dict[str, Any]:
    args = _mailbox(cur, cmd)
    cur.sp()
    cur.expect(b"(")
    items: list[str] = []
    while not cur.take(b")"):
        if items:
            cur.sp()
        items.append(cur.atom("a status item").upper())
    if not items:
        raise ParseError("STATUS needs at least one item")
    args["items"] = items
    return args


def _id(cur: Cursor, cmd: Command) -> dict[str, Any]:
    cur.sp()
    if cur.take(b"NIL"):
        return {"fields": []}
    cur.expect(b"(")
    fields: list[bytes | None] = []
    while not cur.take(b")"):
        if fields:
            cur.sp()
        fields.append(cur.nstring_or_nil())
        if len(fields) > 60:
            raise ParseError("too many ID fields")
    return {"fields": fields}


def _store(cur: Cursor, cmd: Command) -> dict[str, Any]:
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
    return {"set": sequence, "mode": mode, "silent": silent, "flags": flags}


def _expunge(cur: Cursor, cmd: Command) -> dict[str, Any]:
    if not cmd.uid:
        return {}
    cur.sp()
    return {"set": cur.sequence_set()}


def _fetch(cur: Cursor, cmd: Command) -> dict[str, Any]:
    from .fetch_items import parse_fetch_items

    cur.sp()
    sequence = cur.sequence_set()
    cur.sp()
    return {"set": sequence, "items": parse_fetch_items(cur)}


def _search(cur: Cursor, cmd: Command) -> dict[str, Any]:
    from .search import parse_search

    cur.sp()
    charset = None
    if cur.take(b"CHARSET "):
        charset = cur.text_astring("a charset").upper()
        cur.sp()
    return {"charset": charset, "key": parse_search(cur)}


GRAMMAR = {
    **dict.fromkeys(
        (
            "CAPABILITY",
            "NOOP",
            "LOGOUT",
            "STARTTLS",
            "NAMESPACE",
            "CHECK",
            "CLOSE",
            "UNSELECT",
            "IDLE",
        ),
        _none,
    ),
    "LOGIN": _login,
    "AUTHENTICATE": _authenticate,
    "ID": _id,
    "LIST": _list,
    "LSUB": _list,
    "STATUS": _status,
    "SELECT": _mailbox,
    "EXAMINE": _mailbox,
    "EXPUNGE": _expunge,
    "FETCH": _fetch,
    "SEARCH": _search,
    "STORE": _store,
    **dict.fromkeys(
        ("APPEND", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "COPY", "MOVE"),
        _rest,
    ),
}
UID_COMMANDS = frozenset({"FETCH", "SEARCH", "STORE", "EXPUNGE", "COPY", "MOVE"})
