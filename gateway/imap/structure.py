"""ENVELOPE and BODYSTRUCTURE (RFC 3501 §7.4.2) from a MimeWalker tree.

Header values are sent as they are in the message (encoded-words not decoded), as
RFC 3501 asks. Addresses are split by a small RFC 5322 address-list reader that knows
quoted strings, comments, angle addresses and groups.
"""

from __future__ import annotations

from .mime import Node, field_value, parse_params
from .wire import NIL, nstring, paren, quoted

ENVELOPE_ADDRESS_FIELDS = ("from", "sender", "reply-to", "to", "cc", "bcc")


def envelope(node: Node) -> bytes:
    fields = node.fields()

    def get(name: str) -> bytes | None:
        return field_value(fields, name)

    addresses = {name: address_list(get(name)) for name in ENVELOPE_ADDRESS_FIELDS}
    for name in ("sender", "reply-to"):
        if addresses[name] == NIL:
            addresses[name] = addresses["from"]
    items = [nstring(get("date")), nstring(get("subject"))]
    items += [addresses[name] for name in ENVELOPE_ADDRESS_FIELDS]
    items += [nstring(get("in-reply-to")), nstring(get("message-id"))]
    return paren(items)


# --- addresses ---------------------------------------------------------------------------


def _tokens(text: bytes) -> list[tuple[str, bytes]]:
    """Lexes an address list into (kind, value): q=quoted, a=atom, s=special."""
    out: list[tuple[str, bytes]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i : i + 1]
        if c in b" \t\r\n":
            i += 1
        elif c == b"(":
            depth = 0
            while i < n:
                ch = text[i : i + 1]
                if ch == b"\\":
                    i += 1
                elif ch == b"(":
                    depth += 1
                elif ch == b")":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
        elif c == b'"':
            j, value = i + 1, bytearray()
            while j < n and text[j : j + 1] != b'"':
                if text[j : j + 1] == b"\\" and j + 1 < n:
                    j += 1
                value += text[j : j + 1]
                j += 1
            out.append(("q", bytes(value)))
            i = j + 1
        elif c in b"<>@,;:.":
            out.append(("s", c))
            i += 1
        else:
            j = i
            while j < n and text[j : j + 1] not in b' \t\r\n()"<>@,;:.':
                j += 1
            out.append(("a", text[i:j]))
            i = j
    return out


def _addr(name: bytes | None, route: bytes | None, spec: list[tuple[str, bytes]]) -> bytes:
    text = b"".join(v for _, v in spec)
    local, at, domain = text.rpartition(b"@")
    if not at:
        local, domain = text, b""
    return paren([nstring(name), nstring(route), nstring(local), nstring(domain or None)])


def _phrase(tokens: list[tuple[str, bytes]]) -> bytes | None:
    words = [v for k, v in tokens if k != "s" or v == b"."]
    return b" ".join(words) if words else None


def _mailbox(tokens: list[tuple[str, bytes]]) -> bytes | None:
    if not tokens:
        return None
    kinds = [v for k, v in tokens if k == "s"]
    if b"<" in kinds:
        lt = next(i for i, t in enumerate(tokens) if t == ("s", b"<"))
        inner = [t for t in tokens[lt + 1 :] if t != ("s", b">")]
        route = None
        if b":" in [v for k, v in inner if k == "s"]:
            colon = next(i for i, t in enumerate(inner) if t == ("s", b":"))
            route = b"".join(v for _, v in inner[:colon])
            inner = inner[colon + 1 :]
        return _addr(_phrase(tokens[:lt]), route, inner)
    return _addr(None, None, tokens)


def _split(tokens: list[tuple[str, bytes]], sep: bytes) -> list[list[tuple[str, bytes]]]:
    parts: list[list[tuple[str, bytes]]] = [[]]
    depth = 0
    for token in tokens:
        if token == ("s", b"<"):
            depth += 1
        elif token == ("s", b">"):
            depth = max(0, depth - 1)
        if token == ("s", sep) and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def address_list(value: bytes | None) -> bytes:
    """The ENVELOPE form of an address header: a list of addresses or NIL."""
    if value is None:
        return NIL
    out: list[bytes] = []
    for item in _group_split(_tokens(value)):
        if item[0] == "group":
            _, name, members = item
            out.append(paren([NIL, NIL, nstring(name), NIL]))
            out += [m for m in (_mailbox(t) for t in _split(members, b",")) if m]
            out.append(paren([NIL, NIL, NIL, NIL]))
        else:
            mailbox = _mailbox(item[1])
            if mailbox:
                out.append(mailbox)
        if len(out) > 1000:
            break
    return b"(" + b"".join(out) + b")" if out else NIL


def _group_split(tokens: list[tuple[str, bytes]]) -> list[tuple]:
    items: list[tuple] = []
    current: list[tuple[str, bytes]] = []
    i, depth = 0, 0
    while i < len(tokens):
        token = tokens[i]
        if token == ("s", b"<"):
            depth += 1
        elif token == ("s", b">"):
            depth = max(0, depth - 1)
        if token == ("s", b":") and depth == 0:
            end = next((j for j in range(i, len(tokens)) if tokens[j] == ("s", b";")), len(tokens))
            items.append(("group", _phrase(current) or b"", tokens[i + 1 : end]))
            current, i = [], end + 1
            continue
        if token == ("s", b",") and depth == 0:
            if current:
                items.append(("mailbox", current))
            current = []
        else:
            current.append(token)
        i += 1
    if current:
        items.append(("mailbox", current))
    return items


# --- BODYSTRUCTURE -------------------------------------------------------------------


def _params(params: list[tuple[str, str]]) -> bytes:
    if not params:
        return NIL
    return paren(
        quoted(v.encode("latin-1")) for name, value in params for v in (name.upper(), value)
    )


def _disposition(fields: list[tuple[str, bytes]]) -> bytes:
    value = field_value(fields, "content-disposition")
    if not value:
        return NIL
    kind, _, rest = value.partition(b";")
    return paren([quoted(kind.strip().upper()), _params(parse_params(rest))])


def _language(fields: list[tuple[str, bytes]]) -> bytes:
    value = field_value(fields, "content-language")
    if not value:
        return NIL
    tags = [t.strip() for t in value.split(b",") if t.strip()]
    return paren(quoted(t) for t in tags) if tags else NIL


def body_structure(node: Node, extensible: bool = True) -> bytes:
    kind, sub, params = node.content_type
    fields = node.fields()
    if node.boundary is not None:
        children = node.children or [_empty_part(node)]
        out = b"(" + b"".join(body_structure(c, extensible) for c in children)
        out += b" " + quoted(sub.upper().encode())
        if extensible:
            out += b" " + b" ".join(
                [
                    _params(params),
                    _disposition(fields),
                    _language(fields),
                    nstring(field_value(fields, "content-location")),
                ]
            )
        return out + b")"
    items = [
        quoted(kind.upper().encode()),
        quoted(sub.upper().encode()),
        _params(params) if params or kind != "text" else _params([("charset", "us-ascii")]),
        nstring(field_value(fields, "content-id")),
        nstring(field_value(fields, "content-description")),
        quoted((field_value(fields, "content-transfer-encoding") or b"7BIT").upper()),
        b"%d" % node.size,
    ]
    if node.message is not None:
        items += [envelope(node.message), body_structure(node.message, extensible)]
        items.append(b"%d" % node.lines)
    elif kind == "text":
        items.append(b"%d" % node.lines)
    if extensible:
        items += [
            nstring(field_value(fields, "content-md5")),
            _disposition(fields),
            _language(fields),
            nstring(field_value(fields, "content-location")),
        ]
    return paren(items)


def _empty_part(parent: Node) -> Node:
    """A multipart without parts is shown with one empty text/plain part."""
    end = parent.end or 0
    return Node(end, parent.depth + 1, body_start=end, end=end)
