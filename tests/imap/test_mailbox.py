"""INBOX commands: LIST, STATUS, SELECT/EXAMINE, CLOSE, UNSELECT, STORE, EXPUNGE, refusals."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import ImapServer, RawClient, sample_message


def raw_session(imap: ImapServer, select: str | None = "INBOX") -> RawClient:
    raw = RawClient(imap.port)
    raw.starttls(imap.client_tls)
    assert raw.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')[-1].startswith(b"l1 OK")
    if select:
        assert raw.cmd(f"s1 SELECT {select}")[-1].startswith(b"s1 OK")
    return raw


async def test_list_and_lsub(imap: ImapServer) -> None:
    def client() -> dict:
        c = imap.login(select=None)
        out = {
            "all": c.list()[1],
            "percent": c.list('""', "%")[1],
            "inbox": c.list('""', "inbox")[1],
            "other": c.list('""', "Sent")[1],
            "delimiter": c.list('""', '""')[1],
            "lsub": c.lsub()[1],
        }
        c.logout()
        return out

    out = await asyncio.to_thread(client)
    inbox = [b'(\\HasNoChildren) "/" INBOX']
    assert out["all"] == inbox and out["percent"] == inbox and out["inbox"] == inbox
    assert out["other"] == [None]
    assert out["delimiter"] == [b'(\\Noselect) "/" ""']
    assert out["lsub"] == inbox


async def test_select_reports_counts_uidvalidity_and_uidnext(imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(sample_message(n))
    first = imap.messages()[0]
    imap.store.messages.set_flags(imap.mailbox_id, [first.id], ["\\Seen"])
    mailbox = imap.store.mailboxes.get(imap.mailbox_id)

    def client() -> list[bytes]:
        raw = raw_session(imap, select=None)
        lines = raw.cmd("s2 SELECT inbox")
        raw.close()
        return lines

    lines = await asyncio.to_thread(client)
    assert lines == [
        b"* FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen)",
        b"* OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen)] flags that persist",
        b"* 3 EXISTS",
        b"* 0 RECENT",
        b"* OK [UNSEEN 2] first unseen message",
        b"* OK [UIDVALIDITY %d] UIDs valid" % mailbox.uidvalidity,
        b"* OK [UIDNEXT 4] predicted next UID",
        b"s2 OK [READ-WRITE] SELECT completed",
    ]


async def test_examine_is_read_only(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))

    def client() -> list[bytes]:
        raw = raw_session(imap, select=None)
        lines = raw.cmd("e1 EXAMINE INBOX")
        lines += raw.cmd("st STORE 1 +FLAGS (\\Deleted)")
        lines += raw.cmd("ex EXPUNGE")
        raw.close()
        return lines

    lines = await asyncio.to_thread(client)
    assert b"* OK [PERMANENTFLAGS ()] flags that persist" in lines
    assert b"e1 OK [READ-ONLY] EXAMINE completed" in lines
    assert lines[-2] == b"st NO [READ-ONLY] the mailbox was opened with EXAMINE"
    assert lines[-1].startswith(b"ex NO [READ-ONLY]")
    assert imap.messages()[0].flags == frozenset()


async def test_status(imap: ImapServer) -> None:
    for n in range(2):
        imap.deliver(sample_message(n))
    imap.store.messages.set_flags(imap.mailbox_id, [imap.messages()[0].id], ["\\Seen"])
    uidvalidity = imap.store.mailboxes.get(imap.mailbox_id).uidvalidity

    def client() -> tuple:
        c = imap.login(select=None)
        good = c.status("INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")
        missing = c.status("Archive", "(MESSAGES)")
        with pytest.raises(c.error) as bad:
            c.status("INBOX", "(SIZE)")
        c.logout()
        return good, missing, bad

    good, missing, bad = await asyncio.to_thread(client)
    assert good == (
        "OK",
        [b"INBOX (MESSAGES 2 RECENT 0 UIDNEXT 3 UIDVALIDITY %d UNSEEN 1)" % uidvalidity],
    )
    assert missing[0] == "NO" and b"NONEXISTENT" in missing[1][0]
    assert "BAD" in str(bad.value) and "SIZE" in str(bad.value)


async def test_select_of_another_folder_fails_and_deselects(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))

    def client() -> list[bytes]:
        raw = raw_session(imap)
        lines = raw.cmd("s2 SELECT Archive")
        lines += raw.cmd("f1 FETCH 1 FLAGS")
        raw.close()
        return lines

    lines = await asyncio.to_thread(client)
    assert lines[0].startswith(b"s2 NO [NONEXISTENT]")
    assert lines[1] == b"f1 BAD FETCH not allowed now: select a mailbox first"


@pytest.mark.parametrize(
    "command",
    [
        "CREATE Archive",
        "DELETE INBOX",
        "RENAME INBOX Old",
        "SUBSCRIBE INBOX",
        "UNSUBSCRIBE INBOX",
        "COPY 1 INBOX",
        "UID COPY 1 INBOX",
        "MOVE 1 INBOX",
        'APPEND INBOX (\\Seen) "x"',
    ],
)
async def test_structure_changes_are_refused(imap: ImapServer, command: str) -> None:
    imap.deliver(sample_message(1))

    def client() -> bytes:
        raw = raw_session(imap)
        reply = raw.cmd(f"r1 {command}")[-1]
        raw.close()
        return reply

    reply = await asyncio.to_thread(client)
    assert reply.startswith(b"r1 NO [CANNOT] ")
    assert b"read-only" in reply


async def test_store_variants(imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(sample_message(n))
    uids = [m.uid for m in imap.messages()]

    def client() -> list:
        c = imap.login()
        out = [
            c.store("1:2", "+FLAGS", "(\\Seen \\Flagged)")[1],
            c.store("2", "-FLAGS", "(\\Seen)")[1],
            c.store("3", "FLAGS", "(\\Answered \\Draft)")[1],
            c.store("1", "+FLAGS.SILENT", "(\\Deleted)")[1],
            c.uid("STORE", str(uids[2]), "-FLAGS", "(\\Draft $Keyword)")[1],
            c.store("2", "FLAGS", "()")[1],
        ]
        c.logout()
        return out

    out = await asyncio.to_thread(client)
    assert out[0] == [b"1 (FLAGS (\\Flagged \\Seen))", b"2 (FLAGS (\\Flagged \\Seen))"]
    assert out[1] == [b"2 (FLAGS (\\Flagged))"]
    assert out[2] == [b"3 (FLAGS (\\Answered \\Draft))"]
    assert out[3] == [None]
    assert out[4] == [b"3 (FLAGS (\\Answered) UID %d)" % uids[2]]
    assert out[5] == [b"2 (FLAGS ())"]
    flags = [m.flags for m in imap.messages()]
    assert flags == [{"\\Seen", "\\Flagged", "\\Deleted"}, frozenset(), {"\\Answered"}]


async def test_store_syntax_without_parentheses(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))

    def client() -> list[bytes]:
        raw = raw_session(imap)
        lines = raw.cmd("st STORE 1 +FLAGS \\Seen \\Flagged")
        raw.close()
        return lines

    lines = await asyncio.to_thread(client)
    assert lines == [b"* 1 FETCH (FLAGS (\\Flagged \\Seen))", b"st OK STORE completed"]


async def test_expunge_removes_rows_and_files(imap: ImapServer) -> None:
    for n in range(4):
        imap.deliver(sample_message(n))
    before = imap.messages()
    paths = [imap.store.blobs.path(m.path) for m in before]

    def client() -> tuple:
        c = imap.login()
        c.store("2,4", "+FLAGS", "(\\Deleted)")
        expunged = c.expunge()
        left = c.fetch("1:*", "(UID)")[1]
        c.logout()
        return expunged, left

    expunged, left = await asyncio.to_thread(client)
    assert expunged == ("OK", [b"4", b"2"])
    assert left == [b"1 (UID %d)" % before[0].uid, b"2 (UID %d)" % before[2].uid]
    assert [m.uid for m in imap.messages()] == [before[0].uid, before[2].uid]
    assert [p.exists() for p in paths] == [True, False, True, False]


async def test_uid_expunge_only_touches_the_given_uids(imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(sample_message(n))
    uids = [m.uid for m in imap.messages()]

    def client() -> list[bytes]:
        raw = raw_session(imap)
        raw.cmd("st STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        lines = raw.cmd(f"ue UID EXPUNGE {uids[1]}")
        raw.close()
        return lines

    lines = await asyncio.to_thread(client)
    assert lines == [b"* 2 EXPUNGE", b"ue OK EXPUNGE completed"]
    assert [m.uid for m in imap.messages()] == [uids[0], uids[2]]


async def test_close_expunges_silently_and_unselect_does_not(imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(sample_message(n))

    def client() -> tuple:
        raw = raw_session(imap)
        raw.cmd("st STORE 1 +FLAGS.SILENT (\\Deleted)")
        unselect = raw.cmd("u1 UNSELECT")
        raw.cmd("s2 SELECT INBOX")
        close = raw.cmd("c1 CLOSE")
        after = raw.cmd("f1 FETCH 1 FLAGS")
        check = raw.cmd("s3 SELECT INBOX")
        check += raw.cmd("ck CHECK")
        raw.close()
        return unselect, close, after, check

    unselect, close, after, check = await asyncio.to_thread(client)
    assert unselect == [b"u1 OK UNSELECT completed"]
    assert close == [b"c1 OK CLOSE completed"]
    assert after[-1].startswith(b"f1 BAD")
    assert b"* 2 EXISTS" in check and check[-1] == b"ck OK CHECK completed"
    assert len(imap.messages()) == 2
