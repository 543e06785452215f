"""A streaming MIME walker: byte offsets and headers of every part, in bounded memory.

Feed it the plaintext chunk by chunk; it keeps only each entity's header (capped), its
offsets and line counts, never body bytes. That is enough for BODYSTRUCTURE, ENVELOPE,
BODY[HEADER], BODY[TEXT] and BODY[n.m...] byte ranges of messages of any size.

An entity is a Node: a message, a MIME part, or the message inside a message/rfc822
part (`node.message`). Multipart nodes have `children`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_TOP_HEADER = 256 * 1024
MAX_PART_HEADER = 64 * 1024
MAX_PART_HEADERS_TOTAL = 1024 * 1024  # all part headers of one message together
MAX_NODES = 2000
MAX_DEPTH = 32
_LONG_LINE = 4096  # longer partial lines are consumed without being kept


@dataclass
class Node:
    start: int
    depth: int = 0
    header: bytearray = field(default_factory=bytearray)
    header_truncated: bool = False
    body_start: int | None = None
    end: int | None = None
    body_line: int = 0
    lines: int = 0
    content_type: tuple[str, str, list[tuple[str, str]]] = ("text", "plain", [])
    boundary: bytes | None = None
    children: list[Node] = field(default_factory=list)
    message: Node | None = None  # the encapsulated message of a message/rfc822 part
    parent: Node | None = field(default=None, repr=False, compare=False)
    digest: bool = False  # a multipart/digest: its parts default to message/rfc822
    default_rfc822: bool = False
    closed: bool = False  # its close delimiter was seen (multipart)

    @property
    def size(self) -> int:
        return (self.end or 0) - (self.body_start or 0)

    def fields(self) -> list[tuple[str, bytes]]:
        return header_fields(bytes(self.header))


def header_fields(block: bytes) -> list[tuple[str, bytes]]:
    """(lower-case name, unfolded raw value) for each field of a header block."""
    out: list[tuple[str, bytes]] = []
    for raw in split_fields(block):
        name, sep, value = raw.partition(b":")
        if not sep:
            continue
        text = re.sub(rb"\r?\n(?=[ \t])", b"", value).strip()
        out.append((name.strip().decode("latin-1").lower(), text.rstrip(b"\r\n")))
    return out


def split_fields(block: bytes) -> list[bytes]:
    """The raw fields of a header block (folded lines kept with their field)."""
    fields: list[bytes] = []
    for line in block.splitlines(keepends=True):
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def field_value(fields: list[tuple[str, bytes]], name: str) -> bytes | None:
    for key, value in fields:
        if key == name:
            return value
    return None


_PARAM = re.compile(rb'\s*;?\s*([^\s;=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_TOKEN = re.compile(rb'\s*([^\s;=()<>@,:\\"/\[\]?]+)\s*')


def parse_content_type(value: bytes | None, default: tuple[str, str]) -> tuple[str, str, list]:
    """(type, subtype, [(name, value)...]) lower-cased; the default when unusable."""
    if not value:
        return default[0], default[1], []
    main, _, params = value.partition(b";")
    kind, slash, sub = main.partition(b"/")
    kind, sub = kind.strip().lower(), sub.strip().lower()
    if not slash or not _TOKEN.fullmatch(kind) or not _TOKEN.fullmatch(sub):
        return default[0], default[1], []
    return kind.decode("latin-1"), sub.decode("latin-1"), parse_params(params)


def parse_params(text: bytes) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text) and len(params) < 64:
        m = _PARAM.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        value = m.group(2).strip()
        if value.startswith(b'"'):
            value = re.sub(rb"\\(.)", rb"\1", value[1:-1])
        params.append((m.group(1).decode("latin-1").lower(), value.decode("latin-1")))
    return params


class MimeWalker:
    """Consumes a message's bytes and builds its Node tree."""

    def __init__(self) -> None:
        self.root = Node(0)
        self.cursor = self.root
        self.phase = "header"  # of the cursor: header, body (leaf), preamble, epilogue
        self.offset = 0  # absolute offset of the first byte not yet consumed
        self.line_count = 0  # newlines consumed so far
        self.last_eol = 0  # length of the last consumed line ending (0: inside a line)
        self.nodes = 1
        self._part_budget = MAX_PART_HEADERS_TOTAL
        self._carry = b""
        self._midline = False  # the carry continues a line whose start was consumed

    @property
    def header_done(self) -> bool:
        return self.root.body_start is not None

    def feed(self, chunk: bytes) -> None:
        data = self._carry + chunk if self._carry else chunk
        pos = 0
        while True:
            if self.phase != "header":
                pos = self._skip_body(data, pos)
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            self._line(data[pos : nl + 1])
            pos = nl + 1
        rest = data[pos:]
        if len(rest) > _LONG_LINE:
            if self.phase == "header":
                self._add_header(rest)
            self.offset += len(rest)
            self.last_eol = 0
            self._midline = True
            rest = b""
        self._carry = rest

    def finish(self) -> Node:
        if self._carry:
            self._line(self._carry)
            self._carry = b""
        self._close_from(self.root, self.offset, partial_line=self.last_eol == 0)
        return self.root

    # --- internals ---------------------------------------------------------------------
    def _skip_body(self, data: bytes, pos: int) -> int:
        """Consume body lines up to the next one starting with "--" (a boundary candidate)
        or up to the last incomplete line, counting newlines in C rather than per line."""
        if not self._midline and data[pos : pos + 2] == b"--":
            return pos
        found = data.find(b"\n--", pos)
        target = found + 1 if found >= 0 else data.rfind(b"\n", pos) + 1
        if target <= pos:
            return pos
        self.line_count += data.count(b"\n", pos, target)
        self.offset += target - pos
        self.last_eol = 2 if data[target - 2 : target] == b"\r\n" else 1
        self._midline = False
        return target

    def _line(self, line: bytes) -> None:
        at_start = not self._midline
        self._midline = False
        if at_start and line[:2] == b"--" and self._boundary(line):
            self._advance(line)
            return
        if self.phase == "header":
            if at_start and line in (b"\r\n", b"\n"):
                self._header_complete(self.offset + len(line))
            else:
                self._add_header(line)
        self._advance(line)

    def _advance(self, line: bytes) -> None:
        self.offset += len(line)
        if line.endswith(b"\n"):
            self.line_count += 1
            self.last_eol = 2 if line.endswith(b"\r\n") else 1
        else:
            self.last_eol = 0

    def _add_header(self, data: bytes) -> None:
        node = self.cursor
        if node is self.root:
            room = MAX_TOP_HEADER - len(node.header)
        else:
            room = min(MAX_PART_HEADER - len(node.header), self._part_budget)
        if room < len(data):
            node.header_truncated = True
        if room > 0:
            kept = data[:room]
            node.header += kept
            if node is not self.root:
                self._part_budget -= len(kept)

    def _header_complete(self, body_start: int) -> None:
        node = self.cursor
        node.body_start = body_start
        node.body_line = self.line_count + 1
        default = ("message", "rfc822") if node.default_rfc822 else ("text", "plain")
        node.content_type = parse_content_type(field_value(node.fields(), "content-type"), default)
        kind, sub, params = node.content_type
        boundary = dict(params).get("boundary", "").encode("latin-1")
        can_nest = node.depth < MAX_DEPTH and self.nodes < MAX_NODES
        if kind == "multipart" and boundary and can_nest:
            node.boundary = boundary
            node.digest = sub == "digest"
            self.phase = "preamble"
        elif kind == "message" and sub == "rfc822" and can_nest:
            child = Node(body_start, node.depth + 1, parent=node)
            node.message = child
            self.nodes += 1
            self.cursor, self.phase = child, "header"
        else:
            self.phase = "body"

    def _boundary(self, line: bytes) -> bool:
        text = line.rstrip(b" \t\r\n")
        node: Node | None = self.cursor
        while node is not None:
            if node.boundary is not None and not node.closed and node.body_start is not None:
                marker = b"--" + node.boundary
                if text in (marker, marker + b"--"):
                    self._on_boundary(node, line, closing=text != marker)
                    return True
            node = node.parent
        return False

    def _on_boundary(self, parent: Node, line: bytes, closing: bool) -> None:
        end = max(self.offset - self.last_eol, 0)
        if parent.children:
            self._close_from(parent.children[-1], end)
        if closing or self.nodes >= MAX_NODES:
            parent.closed = True
            self.cursor, self.phase = parent, "epilogue"
            return
        child = Node(
            self.offset + len(line), parent.depth + 1, parent=parent, default_rfc822=parent.digest
        )
        parent.children.append(child)
        self.nodes += 1
        self.cursor, self.phase = child, "header"

    def _close_from(self, node: Node, end: int, partial_line: bool = False) -> None:
        """Close `node` and every open node inside it at offset `end`."""
        stack = [node]
        while stack:
            current = stack.pop()
            if current.end is not None:
                continue
            if current.body_start is None:
                current.body_start = max(end, current.start)
                current.body_line = self.line_count
            current.end = max(end, current.body_start)
            lines = self.line_count - current.body_line + (1 if partial_line else 0)
            current.lines = max(0, lines) if current.end > current.body_start else 0
            stack.extend(current.children)
            if current.message is not None:
                stack.append(current.message)


def walk(chunks: list[bytes]) -> Node:
    """The tree of a message given as chunks (for tests and small messages)."""
    walker = MimeWalker()
    for chunk in chunks:
        walker.feed(chunk)
    return walker.finish()
