"""FETCH data items (RFC 3501 §6.4.5): parsing, and the names used in responses."""

from __future__ import annotations

from dataclasses import dataclass

from .parser import Cursor, ParseError
from .wire import astring

SIMPLE = frozenset(
    {
        "UID",
        "FLAGS",
        "INTERNALDATE",
        "RFC822.SIZE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
        "ENVELOPE",
        "BODYSTRUCTURE",
        "BODY",
    }
)
MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
TEXT_SPECS = ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME")
MAX_ITEMS = 64


@dataclass(frozen=True)
class Section:
    parts: tuple[int, ...] = ()
    spec: str = ""  # "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME
    fields: tuple[str, ...] = ()

    def label(self) -> bytes:
        text = ".".join(str(p) for p in self.parts)
        if self.spec:
            text = f"{text}.{self.spec}" if text else self.spec
        out = text.encode()
        if self.fields:
            out += b" (" + b" ".join(astring(f) for f in self.fields) + b")"
        return out


@dataclass(frozen=True)
class FetchAtt:
    name: str  # one of SIMPLE, or "BODY[]" for any sectioned body fetch
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int] | None = None  # (origin, count)

    @property
    def sets_seen(self) -> bool:
        if self.name in ("RFC822", "RFC822.TEXT"):
            return True
        return self.section is not None and not self.peek

    @property
    def needs_body(self) -> bool:
        return self.name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT") or self.section is not None

    def label(self) -> bytes:
        if self.section is None:
            return self.name.encode()
        out = b"BODY[" + self.section.label() + b"]"
        if self.partial is not None:
            out += b"<%d>" % self.partial[0]
        return out


def parse_fetch_items(cur: Cursor) -> list[FetchAtt]:
    if cur.peek() == b"(":
        cur.take(b"(")
        items: list[FetchAtt] = []
        while not cur.take(b")"):
            if items:
                cur.sp()
            items.append(_fetch_att(cur))
            if len(items) > MAX_ITEMS:
                raise ParseError("too many FETCH items")
        if not items:
            raise ParseError("empty FETCH item list")
        return items
    name = _name(cur)
    if name in MACROS:
        return [FetchAtt(n) for n in MACROS[name]]
    return [_fetch_att(cur, name)]


def _name(cur: Cursor) -> str:
    start = cur.pos
    while cur.peek() and (cur.peek().isalnum() or cur.peek() == b"."):
        cur.pos += 1
    name = cur.data[start : cur.pos].decode("ascii").upper()
    if not name:
        raise ParseError("expected a FETCH item")
    return name


def _fetch_att(cur: Cursor, name: str | None = None) -> FetchAtt:
    name = name or _name(cur)
    if name in ("BODY", "BODY.PEEK") and cur.peek() == b"[":
        section = _section(cur)
        partial = _partial(cur)
        return FetchAtt("BODY[]", section, name == "BODY.PEEK", partial)
    if name in SIMPLE:
        return FetchAtt(name)
    raise ParseError(f"unknown FETCH item {name[:40]}")


def _section(cur: Cursor) -> Section:
    cur.expect(b"[")
    parts: list[int] = []
    spec = ""
    while cur.peek().isdigit():
        parts.append(cur.number(nonzero=True))
        if len(parts) > 32:
            raise ParseError("section part too deep")
        if not cur.take(b"."):
            break
        if not cur.peek().isdigit():
            spec = _name(cur)
            break
    if not parts and cur.peek() != b"]":
        spec = _name(cur)
    if spec and (spec not in TEXT_SPECS or (spec == "MIME" and not parts)):
        raise ParseError(f"unknown section {spec[:40]}")
    fields: tuple[str, ...] = ()
    if spec.startswith("HEADER.FIELDS"):
        cur.sp()
        fields = _header_list(cur)
    cur.expect(b"]")
    return Section(tuple(parts), spec, fields)


def _header_list(cur: Cursor) -> tuple[str, ...]:
    cur.expect(b"(")
    names: list[str] = []
    while not cur.take(b")"):
        if names:
            cur.sp()
        names.append(cur.text_astring("a header field name").upper())
        if len(names) > 256:
            raise ParseError("too many header fields")
    if not names:
        raise ParseError("empty header field list")
    return tuple(names)


def _partial(cur: Cursor) -> tuple[int, int] | None:
    if not cur.take(b"<"):
        return None
    origin = cur.number()
    cur.expect(b".")
    count = cur.number(nonzero=True)
    cur.expect(b">")
    return origin, count
