"""Several sessions on one mailbox, IDLE, and UIDs that survive a server restart."""

from __future__ import annotations

import asyncio

from .conftest import ImapServer, RawClient, sample_message


def logged_in(imap: ImapServer) -> RawClient:
    raw = RawClient(imap.port)
    raw.starttls(imap.client_tls)
    assert raw.cmd(f'l1 LOGIN "{imap.alias}" "{imap.passphrase}"')[-1].startswith(b"l1 OK")
    assert raw.cmd("s1 SELECT INBOX")[-1].startswith(b"s1 OK")
    return raw


async def test_two_sessions_see_each_others_flags_and_expunges(imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(sample_message(n))

    def clients() -> dict[str, list[bytes]]:
        a, b = logged_in(imap), logged_in(imap)
        out = {"a_store": a.cmd("a1 STORE 2 +FLAGS (\\Flagged)")}
        out["b_noop"] = b.cmd("b1 NOOP")
        a.cmd("a2 STORE 1 +FLAGS.SILENT (\\Deleted)")
        a.cmd("a3 EXPUNGE")
        # FETCH without UID must not announce the expunge, and keeps numbers stable...
        out["b_fetch"] = b.cmd("b2 FETCH 3 (UID)")
        # ...a command that allows it does.
        out["b_noop2"] = b.cmd("b3 NOOP")
        out["b_after"] = b.cmd("b4 FETCH 1:* (FLAGS)")
        a.close()
        b.close()
        return out

    out = await asyncio.to_thread(clients)
    uids = [m.uid for m in imap.messages()]
    assert out["a_store"] == [b"* 2 FETCH (FLAGS (\\Flagged))", b"a1 OK STORE completed"]
    assert out["b_noop"] == [
        b"* 2 FETCH (UID %d FLAGS (\\Flagged))" % uids[0],
        b"b1 OK NOOP completed",
    ]
    assert out["b_fetch"] == [b"* 3 FETCH (UID %d)" % uids[1], b"b2 OK FETCH completed"]
    assert out["b_noop2"] == [b"* 1 EXPUNGE", b"b3 OK NOOP completed"]
    assert out["b_after"] == [
        b"* 1 FETCH (FLAGS (\\Flagged))",
        b"* 2 FETCH (FLAGS ())",
        b"b4 OK FETCH completed",
    ]


async def test_fetch_of_a_message_expunged_elsewhere(imap: ImapServer) -> None:
    for n in range(2):
        imap.deliver(sample_message(n))

    def clients() -> list[bytes]:
        a, b = logged_in(imap), logged_in(imap)
        a.cmd("a1 STORE 1 +FLAGS.SILENT (\\Deleted)")
        a.cmd("a2 EXPUNGE")
        out = b.cmd("b1 FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out += b.cmd("b2 UID FETCH 1:* (UID)")
        a.close()
        b.close()
        return out

    out = await asyncio.to_thread(clients)
    uid2 = imap.messages()[0].uid
    assert out[0] == b"* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: message 1\r\n\r\n)"
    assert out[1].startswith(b"b1 NO [EXPUNGEISSUED]")
    assert out[2:] == [b"* 1 EXPUNGE", b"* 1 FETCH (UID %d)" % uid2, b"b2 OK FETCH completed"]


async def test_new_mail_is_announced_after_a_command(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))

    def client() -> list[bytes]:
        raw = logged_in(imap)
        imap.deliver(sample_message(2))
        out = raw.cmd("n1 NOOP")
        raw.close()
        return out

    assert await asyncio.to_thread(client) == [b"* 2 EXISTS", b"n1 OK NOOP completed"]


async def test_idle_sees_a_new_delivery_an_expunge_and_flags(imap: ImapServer) -> None:
    imap.deliver(sample_message(1))
    imap.deliver(sample_message(2))

    def client() -> list[bytes]:
        raw = logged_in(imap)
        raw.send(b"i1 IDLE\r\n")
        out = [raw.line()]
        imap.deliver(sample_message(3))
        out.append(raw.line())
        messages = imap.messages()
        imap.store.messages.set_flags(imap.mailbox_id, [messages[1].id], ["\\Seen"])
        out.append(raw.line())
        imap.store.messages.delete(imap.mailbox_id, [messages[0].id])
        out.append(raw.line())
        raw.send(b"DONE\r\n")
        out += raw.until_tagged(b"i1")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    uid2 = imap.messages()[0].uid
    assert out == [
        b"+ idling",
        b"* 3 EXISTS",
        b"* 2 FETCH (UID %d FLAGS (\\Seen))" % uid2,
        b"* 1 EXPUNGE",
        b"i1 OK IDLE terminated",
    ]


async def test_idle_without_done_ends_with_bad(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = logged_in(imap)
        raw.send(b"i1 IDLE\r\n")
        out = [raw.line()]
        raw.send(b"NOOP\r\n")
        out += raw.until_tagged(b"i1")
        out += raw.cmd("n1 NOOP")
        raw.close()
        return out

    out = await asyncio.to_thread(client)
    assert out == [b"+ idling", b"i1 BAD expected DONE to end IDLE", b"n1 OK NOOP completed"]


async def test_uidvalidity_and_uids_survive_a_restart(imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(sample_message(n))

    def snapshot() -> tuple:
        c = imap.login()
        validity = c.response("UIDVALIDITY")[1]
        uids = c.uid("SEARCH", "ALL")[1]
        fetched = c.uid("FETCH", "1:*", "(UID BODY.PEEK[])")[1]
        c.logout()
        return validity, uids, [item for item in fetched if isinstance(item, tuple)]

    before = await asyncio.to_thread(snapshot)
    await imap.restart()
    after = await asyncio.to_thread(snapshot)
    assert before == after
    assert before[1][0].split() == [b"%d" % m.uid for m in imap.messages()]


async def test_uids_keep_growing_after_the_last_message_is_expunged(imap: ImapServer) -> None:
    for n in range(2):
        imap.deliver(sample_message(n))

    def client() -> tuple:
        c = imap.login()
        c.store("2", "+FLAGS", "(\\Deleted)")
        c.expunge()
        c.logout()
        imap.deliver(sample_message(9))
        c = imap.login()
        uidnext = c.response("UIDNEXT")[1]
        uids = c.uid("SEARCH", "ALL")[1]
        c.logout()
        return uidnext, uids

    uidnext, uids = await asyncio.to_thread(client)
    assert uids == [b"1 3"] and uidnext == [b"4"]


async def test_idle_times_out_with_bye(imap: ImapServer) -> None:
    def client() -> list[bytes]:
        raw = logged_in(imap)
        imap.ctx.settings = imap.ctx.settings.replace(imap__idle_timeout=0.3)
        raw.send(b"i1 IDLE\r\n")
        out = []
        try:
            while True:
                out.append(raw.line())
        except EOFError:
            pass
        raw.close()
        return out

    assert await asyncio.to_thread(client) == [b"+ idling", b"* BYE Autologout; idle for too long"]
