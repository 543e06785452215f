"""The streaming MIME walker and the ENVELOPE address reader, without a server."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.imap.mime import MAX_TOP_HEADER, MimeWalker, Node, walk
from gateway.imap.structure import address_list, body_structure

from .conftest import MULTIPART

NESTED = (
    b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
    b'--a\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
    b"--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
    b"--b--\r\n"
    b"--a\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Subject: inner\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n"
    b"--c\r\n\r\nimplicit text\r\n--c--\r\n"
    b"--a--\r\n"
)
LF_ONLY = b"Content-Type: multipart/mixed; boundary=z\n\n--z\n\nfirst\n--z\n\nsecond\n--z--\n"


def shape(node: Node) -> tuple:
    kind, sub, _ = node.content_type
    children = tuple(shape(c) for c in node.children)
    inner = shape(node.message) if node.message else None
    return (kind, sub, node.start, node.body_start, node.end, node.lines, children, inner)


def body(raw: bytes, node: Node) -> bytes:
    return raw[node.body_start : node.end]


def test_nested_multiparts_and_an_encapsulated_multipart() -> None:
    root = walk([NESTED])
    alternative, rfc822 = root.children
    plain, html = alternative.children
    assert (alternative.content_type[:2], plain.content_type[:2]) == (
        ("multipart", "alternative"),
        ("text", "plain"),
    )
    assert body(NESTED, plain) == b"plain" and body(NESTED, html) == b"<p>html</p>"
    inner = rfc822.message
    assert inner is not None and inner.boundary == b"c"
    assert body(NESTED, inner.children[0]) == b"implicit text"
    assert inner.children[0].content_type[:2] == ("text", "plain")


def test_lf_only_message() -> None:
    root = walk([LF_ONLY])
    assert [body(LF_ONLY, c) for c in root.children] == [b"first", b"second"]


def test_message_without_blank_line_is_all_header() -> None:
    raw = b"Subject: only a header\r\nFrom: a@b\r\n"
    root = walk([raw])
    assert root.body_start == root.end == len(raw)


def test_header_done_after_the_first_chunk() -> None:
    walker = MimeWalker()
    walker.feed(MULTIPART[:400])
    assert walker.header_done
    assert walker.root.body_start == MULTIPART.index(b"\r\n\r\n") + 4


def test_huge_header_is_capped_but_offsets_stay_exact() -> None:
    raw = b"X-Big: " + b"y" * (MAX_TOP_HEADER * 2) + b"\r\nSubject: s\r\n\r\nbody\r\n"
    root = walk([raw[i : i + 65536] for i in range(0, len(raw), 65536)])
    assert root.header_truncated and len(root.header) == MAX_TOP_HEADER
    assert body(raw, root) == b"body\r\n"


def test_long_body_lines_do_not_hide_boundaries() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\n"
        + b"z" * 100_000
        + b"\r\n--q\r\n\r\nafter\r\n--q--\r\n"
    )
    root = walk([raw[i : i + 1000] for i in range(0, len(raw), 1000)])
    assert [c.size for c in root.children] == [100_000, 5]


@given(
    st.sampled_from([MULTIPART, NESTED, LF_ONLY]),
    st.lists(st.integers(1, 200), min_size=1, max_size=60),
)
@settings(max_examples=300, deadline=None)
def test_any_chunking_gives_the_same_tree(raw: bytes, cuts: list[int]) -> None:
    chunks, pos = [], 0
    for cut in cuts:
        chunks.append(raw[pos : pos + cut])
        pos += cut
    chunks.append(raw[pos:])
    assert shape(walk(chunks)) == shape(walk([raw]))
    assert body_structure(walk(chunks)) == body_structure(walk([raw]))


@given(st.binary(max_size=2000), st.integers(1, 300))
@settings(max_examples=300, deadline=None)
def test_walker_never_fails_on_garbage(raw: bytes, step: int) -> None:
    root = walk([raw[i : i + step] for i in range(0, len(raw), step)])
    assert root.end == len(raw)
    body_structure(root)


def test_address_lists() -> None:
    assert address_list(b'"Doe, Jane" <jane@example.org>, bob@example.org (Bob)') == (
        b'(("Doe, Jane" NIL "jane" "example.org")(NIL NIL "bob" "example.org"))'
    )
    assert address_list(b"team: a@x.test, b@y.test;, c@z.test") == (
        b'((NIL NIL "team" NIL)(NIL NIL "a" "x.test")(NIL NIL "b" "y.test")(NIL NIL NIL NIL)'
        b'(NIL NIL "c" "z.test"))'
    )
    assert address_list(b"<@relay.test:user@example.org>") == (
        b'((NIL "@relay.test" "user" "example.org"))'
    )
    assert address_list(b"") == b"NIL"
    assert address_list(None) == b"NIL"
    assert address_list(b"J\xc3\xb6rg <j@example.org>").startswith(b"(({5}\r\nJ\xc3\xb6rg NIL")
