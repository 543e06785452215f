"""IMAP command parser (RFC 3501 §9 grammar, the subset this server speaks).

`parse_command(data)` takes one complete command as it came off the wire, literals
included (`{n}`/`{n+}` CRLF followed by n octets), reads its tag, name and UID prefix,
and returns a Command whose cursor stands at the arguments; the verb's own grammar
(arguments.py) parses those. Both raise ParseError carrying the tag when one could be
read (the caller answers `tag BAD` or `* BAD`), and never anything else, whatever
the input.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..retrieval.dispatch import BadArguments
from .wire import parse_date

# ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ]
_ATOM_SPECIALS = frozenset(b'(){ %*"\\]')
MAX_NUMBER = 2**32 - 1


def _is_atom_char(b: int) -> bool:
    return 0x20 < b < 0x7F and b not in _ATOM_SPECIALS


class ParseError(BadArguments):
    def __init__(self, message: str, tag: str | None = None) -> None:
        super().__init__(message)
        self.tag = tag


@dataclass(frozen=True)
class SeqRange:
    """first:last; None stands for `*` (the largest number in use)."""

    first: int | None
    last: int | None


SequenceSet = tuple[SeqRange, ...]


UID_COMMANDS = frozenset({"FETCH", "SEARCH", "STORE", "EXPUNGE", "COPY", "MOVE"})


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

    def run_until(self, stops: bytes) -> bytes:
        """Everything up to the next byte in `stops` (or the end)."""
        return self._run(lambda b: b not in stops)

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


@dataclass
class Command:
    """A command's head; `cursor` stands at its arguments (after the name)."""

    tag: str
    name: str  # upper case; for UID commands the sub-command, with uid=True
    uid: bool
    cursor: Cursor


def parse_command(data: bytes) -> Command:
    cur = Cursor(data)
    tag = parse_tag(cur)
    try:
        cur.sp()
        name = cur.atom("a command name").upper()
        uid = name == "UID"
        if uid:
            cur.sp()
            name = cur.atom("a UID command").upper()
            if name not in UID_COMMANDS:
                raise ParseError(f"UID {name} is not a UID command")
        return Command(tag, name, uid, cur)
    except ParseError as exc:
        exc.tag = tag
        raise
