"""One FETCH of several items of a message decrypts it once (up to a memory bound).

Decryptions are counted by wrapping the store's real read_message (nothing is mocked:
every byte still comes through the age decryption), on a real server with imaplib.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.imap.plaintext import MEMORY_BOUND, Plaintext

from .conftest import MULTIPART, ImapServer

HEADER_END = MULTIPART.index(b"\r\n\r\n") + 4
PART_1 = b"Hello,\r\nsee attached."


def count_decryptions(imap: ImapServer) -> list[str]:
    """Every read_message call of the store from now on, by message id."""
    store = imap.store
    real = store.messages.read
    calls: list[str] = []

    def counted(key, message) -> Iterator[bytes]:
        calls.append(message.id)
        return real(key, message)

    store.messages.read = counted
    return calls


def fetch_sections(imap: ImapServer, spec: str) -> dict[bytes, bytes]:
    c = imap.login()
    typ, data = c.fetch("1", spec)
    c.logout()
    assert typ == "OK"
    return {
        head.split(b" ", 1)[-1].split(b" {")[0].lstrip(b"("): body
        for head, body in (item for item in data if isinstance(item, tuple))
    }


def large_multipart(part_size: int) -> tuple[bytes, bytes, bytes]:
    """A multipart message with two text parts of `part_size` bytes each."""
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-=+/01234\r\n"
    first = (line * (part_size // len(line)))[:-2]
    second = first.replace(b"0123", b"3210")
    raw = (
        b"From: big@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\n" + first + b"\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\n" + second + b"\r\n--b--\r\n"
    )
    return raw, first, second


async def test_header_text_and_a_part_in_one_fetch_decrypt_the_message_once(imap: ImapServer):
    imap.deliver(MULTIPART)
    calls = count_decryptions(imap)
    spec = "(BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1])"
    parts = await asyncio.to_thread(fetch_sections, imap, spec)
    assert parts[b"BODY[HEADER]"] == MULTIPART[:HEADER_END]
    assert parts[b"BODY[TEXT]"] == MULTIPART[HEADER_END:]
    assert parts[b"BODY[1]"] == PART_1
    assert len(calls) == 1


async def test_sections_asked_in_any_order_are_served_from_one_decryption(imap: ImapServer):
    imap.deliver(MULTIPART)
    calls = count_decryptions(imap)
    spec = "(BODY.PEEK[3.TEXT] BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[TEXT]<0.10> RFC822.SIZE)"
    parts = await asyncio.to_thread(fetch_sections, imap, spec)
    assert parts[b"BODY[3.TEXT]"] == b"inner body"
    assert parts[b"BODY[]"] == MULTIPART
    assert parts[b"BODY[1]"] == PART_1
    assert parts[b"BODY[TEXT]<0>"] == MULTIPART[HEADER_END : HEADER_END + 10]
    assert len(calls) == 1


async def test_a_message_over_the_bound_reads_ascending_sections_in_one_more_pass(
    imap: ImapServer,
):
    raw, first, second = large_multipart(MEMORY_BOUND)
    assert len(raw) > MEMORY_BOUND
    imap.deliver(raw)
    calls = count_decryptions(imap)
    parts = await asyncio.to_thread(fetch_sections, imap, "(BODY.PEEK[1] BODY.PEEK[2])")
    assert (parts[b"BODY[1]"], parts[b"BODY[2]"]) == (first, second)
    assert len(calls) == 2  # the structure walk, then both parts in one pass


async def test_a_message_over_the_bound_serves_sections_in_descending_order_too(
    imap: ImapServer,
):
    raw, first, second = large_multipart(MEMORY_BOUND)
    imap.deliver(raw)
    parts = await asyncio.to_thread(fetch_sections, imap, "(BODY.PEEK[2] BODY.PEEK[1] BODY[])")
    assert (parts[b"BODY[1]"], parts[b"BODY[2]"], parts[b"BODY[]"]) == (first, second, raw)


# --- Plaintext alone: any chunking, any ranges, both sides of the bound ------------------


def source(chunks: list[bytes], opened: list[int]):
    async def open_chunks() -> AsyncIterator[bytes]:
        opened.append(1)
        for chunk in chunks:
            await asyncio.sleep(0)
            yield chunk

    return open_chunks


async def read_all(plaintext: Plaintext, start: int, end: int | None) -> bytes:
    return b"".join([bytes(piece) async for piece in plaintext.read(start, end)])


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=7), max_size=8),
    ranges=st.lists(st.tuples(st.integers(0, 60), st.none() | st.integers(0, 60)), max_size=6),
    keep_all=st.booleans(),
)
def test_every_range_reads_the_right_bytes(chunks, ranges, keep_all) -> None:
    message = b"".join(chunks)
    opened: list[int] = []

    async def scenario() -> None:
        plaintext = Plaintext(source(chunks, opened), len(message), 60 if keep_all else 0)
        for start, end in ranges:
            assert await read_all(plaintext, start, end) == message[start:end]
        await plaintext.aclose()

    asyncio.run(scenario())
    if keep_all:
        assert len(opened) <= 1


@pytest.mark.parametrize("bound", [0, 100])
async def test_ascending_ranges_continue_one_decryption(bound: int) -> None:
    chunks = [b"abcde", b"fghij", b"klmno"]
    opened: list[int] = []
    plaintext = Plaintext(source(chunks, opened), 15, bound)
    got = [await read_all(plaintext, s, e) for s, e in ((0, 3), (2, 7), (7, 12), (12, None))]
    await plaintext.aclose()
    assert got == [b"abc", b"cdefg", b"hijkl", b"mno"]
    assert len(opened) == 1
