"""SEARCH and UID SEARCH: sets, flags, dates, sizes, NOT/OR/groups, refusals."""

from __future__ import annotations

import asyncio
import time

import pytest

from .conftest import ImapServer, sample_message


@pytest.fixture
def five(imap: ImapServer) -> list[int]:
    """Five messages of growing size; flags: 1 Seen, 2 Seen+Flagged, 3 Deleted, 4 Answered."""
    for n in range(1, 6):
        imap.deliver(sample_message(n, body_lines=n * 10))
    messages = imap.messages()
    imap.store.messages.set_flags(imap.mailbox_id, [messages[0].id, messages[1].id], ["\\Seen"])
    imap.store.messages.set_flags(imap.mailbox_id, [messages[1].id], ["\\Flagged"])
    imap.store.messages.set_flags(imap.mailbox_id, [messages[2].id], ["\\Deleted"])
    imap.store.messages.set_flags(imap.mailbox_id, [messages[3].id], ["\\Answered"])
    return [m.uid for m in messages]


def run_searches(imap: ImapServer, queries: list[str], uid: bool = False) -> list[str]:
    c = imap.login()
    out = []
    for query in queries:
        typ, data = c.uid("SEARCH", query) if uid else c.search(None, query)
        out.append(f"{typ} {data[0].decode()}")
    c.logout()
    return out


def today_and_neighbours() -> tuple[str, str, str]:
    fmt = "%d-%b-%Y"
    now = time.time()
    return (
        time.strftime(fmt, time.gmtime(now - 86400 * 2)),
        time.strftime(fmt, time.gmtime(now)),
        time.strftime(fmt, time.gmtime(now + 86400 * 2)),
    )


async def test_flag_and_set_keys(imap: ImapServer, five: list[int]) -> None:
    queries = [
        "ALL",
        "SEEN",
        "UNSEEN",
        "DELETED",
        "UNDELETED",
        "FLAGGED",
        "UNFLAGGED",
        "ANSWERED",
        "2:4",
        "1,5",
        "4:*",
        f"UID {five[1]}:{five[2]}",
        "NEW",
        "RECENT",
        "OLD",
        "KEYWORD $Junk",
        "UNKEYWORD $Junk",
    ]
    result = await asyncio.to_thread(run_searches, imap, queries)
    assert result == [
        "OK 1 2 3 4 5",
        "OK 1 2",
        "OK 3 4 5",
        "OK 3",
        "OK 1 2 4 5",
        "OK 2",
        "OK 1 3 4 5",
        "OK 4",
        "OK 2 3 4",
        "OK 1 5",
        "OK 4 5",
        "OK 2 3",
        "OK ",
        "OK ",
        "OK 1 2 3 4 5",
        "OK ",
        "OK 1 2 3 4 5",
    ]


async def test_combinations(imap: ImapServer, five: list[int]) -> None:
    queries = [
        "SEEN UNFLAGGED",
        "NOT SEEN",
        "OR DELETED ANSWERED",
        "OR (SEEN FLAGGED) DELETED",
        "NOT (OR SEEN DELETED)",
        "UNDELETED NOT 5",
        "CHARSET UTF-8 SEEN",
    ]
    result = await asyncio.to_thread(run_searches, imap, queries)
    assert result == ["OK 1", "OK 3 4 5", "OK 3 4", "OK 2 3", "OK 4 5", "OK 1 2 4", "OK 1 2"]


async def test_dates_and_sizes(imap: ImapServer, five: list[int]) -> None:
    sizes = [m.size for m in imap.messages()]
    before, today, after = today_and_neighbours()
    queries = [
        f"SINCE {before}",
        f"SINCE {after}",
        f"BEFORE {after}",
        f"BEFORE {today}",
        f"ON {today}",
        f'ON "{before}"',
        f"LARGER {sizes[2]}",
        f"SMALLER {sizes[1]}",
        f"LARGER {sizes[0]} SMALLER {sizes[4]}",
    ]
    result = await asyncio.to_thread(run_searches, imap, queries)
    assert result == [
        "OK 1 2 3 4 5",
        "OK ",
        "OK 1 2 3 4 5",
        "OK ",
        "OK 1 2 3 4 5",
        "OK ",
        "OK 4 5",
        "OK 1",
        "OK 2 3 4",
    ]


async def test_uid_search_answers_uids(imap: ImapServer, five: list[int]) -> None:
    result = await asyncio.to_thread(run_searches, imap, ["SEEN", "ALL", "1:2"], True)
    assert result == [
        f"OK {five[0]} {five[1]}",
        " ".join(["OK", *map(str, five)]),
        f"OK {five[0]} {five[1]}",
    ]


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        ("FROM alice", "NO", "[CANNOT] SEARCH FROM is not supported"),
        ('HEADER X-Test "1"', "NO", "[CANNOT] SEARCH HEADER is not supported"),
        ("OR SEEN BODY secret", "NO", "[CANNOT] SEARCH BODY is not supported"),
        ("SENTSINCE 1-Jan-2024", "NO", "[CANNOT] SEARCH SENTSINCE"),
        ("CHARSET KOI8-R SEEN", "NO", "[BADCHARSET (US-ASCII UTF-8)]"),
        ("FUZZY hello", "BAD", "unknown search key FUZZY"),
        ("SINCE 31-Feb-2024", "BAD", "expected a date"),
        ("(SEEN", "BAD", "expected )"),
        ("LARGER", "BAD", "expected a space"),
    ],
)
async def test_refused_and_malformed_keys(
    imap: ImapServer, five: list[int], query: str, status: str, text: str
) -> None:
    def client() -> str:
        c = imap.login()
        tag = c._new_tag().decode()
        c.send(f"{tag} SEARCH {query}\r\n".encode())
        while True:
            line = c.readline().decode().rstrip()
            if line.startswith(tag):
                c.logout()
                return line[len(tag) + 1 :]

    reply = await asyncio.to_thread(client)
    assert reply.startswith(status) and text in reply, reply
