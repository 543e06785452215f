"""FETCH as clients see it: every data item, sections, partials, \\Seen, streaming, damage."""

from __future__ import annotations

import asyncio
import email.utils
import os
import tracemalloc

from tests.support.metrics import metric

from .conftest import MULTIPART, ImapServer, RawClient, sample_message


def big_message(size: int) -> bytes:
    head = b"From: big@example.org\r\nSubject: big\r\n\r\n"
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-=+/01234\r\n"
    body = line * ((size - len(head)) // len(line) + 1)
    return head + body[: size - len(head) - 2] + b"\r\n"


def body_of(data: list) -> bytes:
    """The literal of a one-message imaplib FETCH answer."""
    return data[0][1]


async def test_fast_all_full_and_simple_items(imap: ImapServer) -> None:
    info = imap.deliver(sample_message(1))

    def client() -> list:
        c = imap.login()
        out = [c.fetch("1", "FAST")[1], c.fetch("1", "ALL")[1], c.fetch("1", "FULL")[1]]
        out.append(c.fetch("1", "(UID RFC822.SIZE INTERNALDATE FLAGS)")[1])
        c.logout()
        return out

    fast, all_, full, simple = await asyncio.to_thread(client)
    date = email.utils.formatdate(info.received, usegmt=True)
    assert fast[0].startswith(b"1 (FLAGS () INTERNALDATE ")
    assert b"RFC822.SIZE %d" % len(sample_message(1)) in fast[0]
    assert b"ENVELOPE (" in all_[0] and b"BODY (" in full[0] and b"BODYSTRUCTURE" not in full[0]
    assert simple[0].startswith(b"1 (UID %d RFC822.SIZE %d INTERNALDATE " % (info.uid, info.size))
    assert date[5:16].lstrip("0").replace(" ", "-").encode() in simple[0]


async def test_body_peek_is_byte_identical_and_leaves_unseen(imap: ImapServer) -> None:
    raw = MULTIPART
    imap.deliver(raw)

    def client() -> tuple[bytes, list]:
        c = imap.login()
        body = body_of(c.fetch("1", "(BODY.PEEK[])")[1])
        flags = c.fetch("1", "(FLAGS)")[1]
        c.logout()
        return body, flags

    body, flags = await asyncio.to_thread(client)
    assert body == raw
    assert flags == [b"1 (FLAGS ())"]
    assert imap.messages()[0].flags == frozenset()


async def test_body_and_rfc822_set_seen_and_report_flags(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))
    imap.deliver(sample_message(2))

    def client() -> tuple:
        c = imap.login()
        first = c.fetch("1", "(BODY[])")[1]
        second = c.fetch("2", "(RFC822)")[1]
        c.logout()
        return first, second

    first, second = await asyncio.to_thread(client)
    assert first[0][1] == sample_message(1) and first[1] == b" FLAGS (\\Seen))"
    assert second[0][0].startswith(b"2 (RFC822 {") and second[0][1] == sample_message(2)
    assert all(m.flags == {"\\Seen"} for m in imap.messages())


async def test_examine_never_sets_seen(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))

    def client() -> bytes:
        c = imap.login(select=None)
        c.select("INBOX", readonly=True)
        body = body_of(c.fetch("1", "(BODY[])")[1])
        c.logout()
        return body

    assert await asyncio.to_thread(client) == sample_message(1)
    assert imap.messages()[0].flags == frozenset()


async def test_header_text_and_rfc822_variants(imap: ImapServer) -> None:
    raw = sample_message(7)
    header, text = raw.split(b"\r\n\r\n", 1)
    imap.deliver(raw)

    def client() -> dict[str, bytes]:
        c = imap.login()
        out = {
            "BODY.PEEK[HEADER]": body_of(c.fetch("1", "(BODY.PEEK[HEADER])")[1]),
            "BODY.PEEK[TEXT]": body_of(c.fetch("1", "(BODY.PEEK[TEXT])")[1]),
            "RFC822.HEADER": body_of(c.fetch("1", "(RFC822.HEADER)")[1]),
        }
        flags_after_header = c.fetch("1", "(FLAGS)")[1][0]
        out["RFC822.TEXT"] = body_of(c.fetch("1", "(RFC822.TEXT)")[1])
        out["flags"] = flags_after_header
        c.logout()
        return out

    out = await asyncio.to_thread(client)
    assert out["BODY.PEEK[HEADER]"] == header + b"\r\n\r\n"
    assert out["RFC822.HEADER"] == header + b"\r\n\r\n"
    assert out["BODY.PEEK[TEXT]"] == text and out["RFC822.TEXT"] == text
    assert out["flags"] == b"1 (FLAGS ())"
    assert imap.messages()[0].flags == {"\\Seen"}


async def test_header_fields_and_not(imap: ImapServer) -> None:
    imap.deliver(
        b"Subject: folded\r\n subject\r\nFrom: a@example.org\r\nX-Other: 1\r\n"
        b"from: second@example.org\r\n\r\nbody\r\n"
    )

    def client() -> tuple:
        c = imap.login()
        fields = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (FROM subject)])")[1][0]
        others = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS.NOT (From Subject)])")[1][0]
        missing = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (X-Nothing)])")[1][0]
        c.logout()
        return fields, others, missing

    fields, others, missing = await asyncio.to_thread(client)
    expected = (
        b"Subject: folded\r\n subject\r\nFrom: a@example.org\r\nfrom: second@example.org\r\n\r\n"
    )
    assert fields == (b"1 (BODY[HEADER.FIELDS (FROM SUBJECT)] {%d}" % len(expected), expected)
    assert others[1] == b"X-Other: 1\r\n\r\n"
    assert missing[1] == b"\r\n"


async def test_partial_fetches(imap: ImapServer) -> None:
    raw = big_message(200_000)
    imap.deliver(raw)

    def client() -> list:
        c = imap.login()
        out = [
            c.fetch("1", "(BODY.PEEK[]<0.10>)")[1][0],
            c.fetch("1", "(BODY.PEEK[]<150000.100>)")[1][0],
            c.fetch("1", "(BODY.PEEK[]<199990.100>)")[1][0],
            c.fetch("1", "(BODY.PEEK[TEXT]<5.5>)")[1][0],
            c.fetch("1", "(BODY.PEEK[HEADER]<6.7>)")[1][0],
        ]
        beyond = c.fetch("1", "(BODY.PEEK[]<300000.10>)")[1]
        c.logout()
        return out, beyond

    out, beyond = await asyncio.to_thread(client)
    assert out[0] == (b"1 (BODY[]<0> {10}", raw[:10])
    assert out[1] == (b"1 (BODY[]<150000> {100}", raw[150000:150100])
    assert out[2] == (b"1 (BODY[]<199990> {10}", raw[199990:])
    text_start = raw.index(b"\r\n\r\n") + 4
    assert out[3][1] == raw[text_start + 5 : text_start + 10]
    assert out[4] == (b"1 (BODY[HEADER]<6> {7}", raw[6:13])
    assert beyond[0] in (b'1 (BODY[]<300000> "")', (b"1 (BODY[]<300000> {0}", b"")) or (
        beyond[0][1] == b""
    )


async def test_envelope_and_bodystructure_of_a_multipart(imap: ImapServer) -> None:
    imap.deliver(MULTIPART)

    def client() -> bytes:
        c = imap.login()
        data = c.fetch("1", "(ENVELOPE BODYSTRUCTURE BODY)")[1][0]
        c.logout()
        return data

    data = await asyncio.to_thread(client)
    envelope = (
        b'ENVELOPE ("Tue, 2 Jan 2024 11:00:00 +0100" "report" '
        b'(("=?utf-8?q?J=C3=B6rg?=" NIL "joerg" "example.org")) '
        b'(("=?utf-8?q?J=C3=B6rg?=" NIL "joerg" "example.org")) '
        b'(("=?utf-8?q?J=C3=B6rg?=" NIL "joerg" "example.org")) '
        b'((NIL NIL "a" "example.test")("B, Person" NIL "b" "example.test")) '
        b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL "<multi@example.org>")'
    )
    text_part = b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 21 2'
    pdf_part = b'("APPLICATION" "PDF" ("NAME" "r.pdf") NIL NIL "BASE64" 12'
    inner_env = (
        b'(NIL "inner" ((NIL NIL "inner" "example.org")) ((NIL NIL "inner" "example.org")) '
        b'((NIL NIL "inner" "example.org")) NIL NIL NIL NIL NIL)'
    )
    structure = (
        text_part
        + b" NIL NIL NIL NIL)"
        + pdf_part
        + b' NIL ("ATTACHMENT" ("FILENAME" "r.pdf")) NIL NIL)'
        + b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 53 '
        + inner_env
        + b' ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL) 4'
        + b' NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "outer") NIL NIL NIL)'
    )
    assert envelope in data
    assert b"BODYSTRUCTURE (" + structure in data
    body = (
        b"BODY ("
        + text_part
        + b")"
        + pdf_part
        + b')("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 53 '
        + inner_env
        + b' ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 1) 4) "MIXED")'
    )
    assert body in data


async def test_part_sections(imap: ImapServer) -> None:
    imap.deliver(MULTIPART)

    def client() -> dict:
        c = imap.login()
        spec = (
            "(BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[3] BODY.PEEK[3.HEADER]"
            " BODY.PEEK[3.TEXT] BODY.PEEK[3.1] BODY.PEEK[4] BODY.PEEK[1]<0.5>)"
        )
        data = c.fetch("1", spec)[1]
        c.logout()
        return {
            head.split(b" ", 1)[-1].split(b" {")[0].lstrip(b"("): body
            for head, body in (item for item in data if isinstance(item, tuple))
        }

    parts = await asyncio.to_thread(client)
    assert parts[b"BODY[1]"] == b"Hello,\r\nsee attached."
    assert parts[b"BODY[2]"] == b"JVBERi0xLjQK"
    assert parts[b"BODY[2.MIME]"].startswith(b"Content-Type: application/pdf")
    assert parts[b"BODY[2.MIME]"].endswith(b"base64\r\n\r\n")
    assert parts[b"BODY[3]"] == b"From: inner@example.org\r\nSubject: inner\r\n\r\ninner body"
    assert parts[b"BODY[3.HEADER]"] == b"From: inner@example.org\r\nSubject: inner\r\n\r\n"
    assert parts[b"BODY[3.TEXT]"] == b"inner body" and parts[b"BODY[3.1]"] == b"inner body"
    assert parts[b"BODY[4]"] == b"" and parts[b"BODY[1]<0>"] == b"Hello"


async def test_uid_fetch_always_includes_uid_and_handles_star(imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(sample_message(n))
    uids = [m.uid for m in imap.messages()]

    def client() -> tuple:
        c = imap.login()
        flags = c.uid("FETCH", "1:*", "(FLAGS)")[1]
        beyond = c.uid("FETCH", f"{uids[-1] + 10}:*", "(FLAGS)")[1]
        none = c.uid("FETCH", f"{uids[-1] + 10}", "(FLAGS)")[1]
        c.logout()
        return flags, beyond, none

    flags, beyond, none = await asyncio.to_thread(client)
    assert flags == [b"%d (UID %d FLAGS ())" % (i + 1, u) for i, u in enumerate(uids)]
    assert beyond == [b"3 (UID %d FLAGS ())" % uids[-1]]
    assert none == [None]


async def test_bad_fetch_requests(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))

    def client() -> list[bytes]:
        raw = RawClient(imap.port)
        raw.starttls(imap.client_tls)
        raw.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')
        raw.cmd("s1 SELECT INBOX")
        out = [
            raw.cmd("f1 FETCH 5 FLAGS")[-1],
            raw.cmd("f2 FETCH 1 (FLAGS NONSENSE)")[-1],
            raw.cmd("f3 FETCH 1 BODY[HEADER.FIELDS]")[-1],
            raw.cmd("f4 FETCH 1 BODY[0]")[-1],
            raw.cmd("f5 FETCH 1:* ()")[-1],
            raw.cmd("f6 FETCH 1 BODY[]<5>")[-1],
        ]
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out[0] == b"f1 BAD invalid message sequence number"
    assert all(line.split(b" ")[1] == b"BAD" for line in out[1:]), out


async def test_large_message_streams_byte_identical(imap: ImapServer) -> None:
    raw = big_message(3 * 1024 * 1024 + 17)
    imap.deliver(raw)

    def client() -> bytes:
        c = imap.login()
        body = body_of(c.uid("FETCH", "1", "(BODY.PEEK[])")[1])
        c.logout()
        return body

    assert await asyncio.to_thread(client) == raw


def _tamper(imap: ImapServer, index: int, offset: int) -> None:
    info = imap.messages()[index]
    path = imap.store.blobs.path(info.path)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


async def test_tampered_blob_closes_mid_literal_and_next_session_works(imap: ImapServer) -> None:
    # Random lines resist compression, so the file has many chunks and the damage lies
    # in the last one: part of the literal goes out before it is found.
    lines = (os.urandom(32).hex().encode() + b"\r\n" for _ in range(8000))
    big = b"Subject: x\r\n\r\n" + b"".join(lines)
    imap.deliver(big)
    imap.deliver(sample_message(2))
    _tamper(imap, 0, -100)

    def client() -> tuple[bytes, int]:
        c = RawClient(imap.port)
        c.starttls(imap.client_tls)
        c.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')
        c.cmd("s1 SELECT INBOX")
        c.send(b"f1 FETCH 1 BODY.PEEK[]\r\n")
        head = c.file.readline()
        received = 0
        try:
            while chunk := c.file.read1(65536):
                received += len(chunk)
        except (ConnectionResetError, OSError):
            pass
        c.close()
        return head, received

    head, received = await asyncio.to_thread(client)
    assert head == b"* 1 FETCH (BODY[] {%d}\r\n" % len(big)
    assert 0 < received < len(big)

    def next_session() -> bytes:
        c = imap.login()
        body = body_of(c.fetch("2", "(BODY.PEEK[])")[1])
        c.logout()
        return body

    assert await asyncio.to_thread(next_session) == sample_message(2)
    damaged = [e for e in imap.store.audit.list() if e.action == "imap.message-damaged"]
    assert damaged and damaged[0].target == imap.mailbox_id
    assert damaged[0].detail == imap.messages()[0].id
    assert metric(imap.ctx, "imap_damaged_total") == 1


async def test_tampered_blob_during_bodystructure_says_bye(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))
    _tamper(imap, 0, -20)

    def client() -> list[bytes]:
        c = RawClient(imap.port)
        c.starttls(imap.client_tls)
        c.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')
        c.cmd("s1 SELECT INBOX")
        c.send(b"f1 FETCH 1 BODYSTRUCTURE\r\n")
        lines = []
        try:
            while True:
                lines.append(c.line())
        except EOFError:
            pass
        c.close()
        return lines

    assert await asyncio.to_thread(client) == [
        b"* BYE [SERVERBUG] a stored message failed authentication"
    ]


async def test_streaming_memory_does_not_grow_with_message_size(imap: ImapServer) -> None:
    raw = big_message(24 * 1024 * 1024)
    imap.deliver(raw)
    del raw

    def client() -> int:
        c = RawClient(imap.port)
        c.starttls(imap.client_tls)
        c.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')
        c.cmd("s1 SELECT INBOX")
        c.send(b"f1 FETCH 1 (BODY.PEEK[])\r\n")
        head = c.file.readline()
        size = int(head.rsplit(b"{", 1)[1].split(b"}")[0])
        left = size
        while left:  # read and drop: the client side keeps nothing
            left -= len(c.file.read(min(left, 65536)))
        assert c.file.readline() == b")\r\n"
        assert c.file.readline() == b"f1 OK FETCH completed\r\n"
        c.close()
        return size

    tracemalloc.start()
    try:
        size = await asyncio.to_thread(client)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == 24 * 1024 * 1024
    assert peak < 4 * 1024 * 1024, f"peak traced memory {peak} for a {size}-byte message"
