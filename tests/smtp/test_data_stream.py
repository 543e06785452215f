"""The block-based DATA parser against a byte-by-byte reference, over any block split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smtp.data_stream import DataParser

from .helpers import canonical

PIECES = [b"a", b"bc", b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n.", b"\r\n..", b"\n.\n", b"\r.\r"]
END = b"\r\n.\r\n"


def reference(wire: bytes) -> tuple[bytes, bytes] | None:
    """RFC 5321 read byte by byte: (canonical content, bytes after the end) or None."""
    out = bytearray()
    i = 0
    line_start = True
    while i < len(wire):
        if line_start:
            line_start = False
            if wire.startswith(b".\r\n", i):
                return canonical(bytes(out)), wire[i + 3 :]
            if wire[i : i + 1] == b".":
                i += 1
                continue
        if wire.startswith(b"\r\n", i):
            out += b"\r\n"
            i += 2
            line_start = True
        else:
            out += wire[i : i + 1]
            i += 1
    return None


def parse(wire: bytes, cuts: list[int], max_size: int = 1 << 30, max_line: int = 1 << 20):
    parser = DataParser(max_size, max_line)
    out = bytearray()
    points = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    for start, stop in zip(points, points[1:], strict=False):
        out += parser.feed(wire[start:stop])
        if parser.done:
            return parser, bytes(out), parser.leftover + wire[stop:]
    return parser, bytes(out), b""


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.lists(st.integers(0, 400)))
def test_any_block_split_decodes_like_the_reference(pieces, cuts):
    wire = b"".join(pieces) + END + b"QUIT\r\n"
    expected = reference(wire)
    assert expected is not None
    parser, out, rest = parse(wire, cuts)
    assert parser.done
    assert (out, rest) == expected
    assert parser.size == len(expected[0])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=40),
    st.lists(st.integers(0, 400)),
    st.integers(1, 12),
)
def test_line_limit_matches_the_longest_canonical_line(pieces, cuts, limit):
    wire = b"".join(pieces) + END
    content, _ = reference(wire)
    parser, out, _ = parse(wire, cuts, max_line=limit)
    longest = max(len(line) for line in content.split(b"\r\n"))
    assert parser.line_too_long == (longest > limit)
    if not parser.line_too_long:
        assert out == content


def test_empty_message_and_leftover():
    parser = DataParser(100, 100)
    assert parser.feed(b".\r\nQUIT\r\n") == b""
    assert parser.done and parser.leftover == b"QUIT\r\n" and parser.size == 0


def test_smuggling_sequences_do_not_end_data():
    for fake in (b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\r\n", b"\r\n.\r"):
        parser = DataParser(1000, 1000)
        out = parser.feed(b"a" + fake + b"MAIL FROM:<x@y>\r\n")
        assert not parser.done, fake
        out += parser.feed(END)
        assert parser.done, fake
        assert b"MAIL FROM:<x@y>" in out, fake


def test_terminator_split_over_single_bytes():
    parser = DataParser(1000, 1000)
    out = b"".join(parser.feed(bytes([b])) for b in b"hi\r\n..x\r\n.\r")
    assert not parser.done
    out += parser.feed(b"\n")
    assert parser.done and out == b"hi\r\n.x\r\n"


def test_size_limit_counts_canonical_bytes_and_keeps_finding_the_end():
    parser = DataParser(10, 1000)
    assert parser.feed(b"0123456789") == b"0123456789"  # exactly the limit
    assert parser.feed(b"\r\nmore") == b""
    assert parser.too_big and not parser.done
    assert parser.feed(b"\r\n.\r\n") == b"" and parser.done
    assert parser.size == 18


def test_long_lines_in_big_blocks():
    limit = 65536
    ok = b"x" * limit + b"\r\n"
    parser = DataParser(1 << 30, limit)
    block = ok * 3 + b"y\r\n" * 1000
    assert parser.feed(block) == block[:-2]  # the last CRLF waits for the next byte
    assert not parser.line_too_long
    parser.feed(b"z" * 100 + b"\r\n" + b"x" * (limit + 1) + b"\r\n" + b"z\r\n")
    assert parser.line_too_long
    assert parser.feed(b".\r\n") == b"" and parser.done


def test_long_line_split_across_blocks():
    parser = DataParser(1 << 30, 1000)
    for _ in range(10):
        parser.feed(b"x" * 100)
    assert not parser.line_too_long
    parser.feed(b"x")
    assert parser.line_too_long
