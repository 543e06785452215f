"""SMTP in, IMAP out: mail sent with smtplib comes back byte for byte through imaplib,
fetchmail (STARTTLS), getmail6 (IMAPS) and mbsync (STARTTLS, Sync Pull).

"Byte for byte" is checked against what the store holds (the sent message behind the
gateway's trace headers); tools that rewrite documented things (getmail: LF line ends
and re-wrapped long headers; mbsync: LF line ends in Maildir and its X-TUID tracking
header) are compared after undoing exactly that rewriting.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.mail import send_with_smtplib
from tests.support.retrievers import as_getmail_delivers, unfold_header

from .conftest import MULTIPART, ImapServer, sample_message
from .test_fetch import big_message
from .tools import run_fetchmail, run_getmail, run_mbsync, without_tuid


def sent_messages() -> list[bytes]:
    return [
        sample_message(1),
        b"Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\nFrom the start of a line\r\nend\r\n",
        MULTIPART,
        big_message(250_000),
    ]


def stored(imap: ImapServer) -> list[bytes]:
    """The plaintext of every stored message, read straight from the store."""
    key = imap.store.keys.unlock(imap.mailbox_id, imap.passphrase)
    return [b"".join(imap.store.messages.read(key, m)) for m in imap.messages()]


def fetch_all_with_imaplib(imap: ImapServer) -> list[bytes]:
    c = imap.login()
    data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")[1]
    c.logout()
    return [item[1] for item in data if isinstance(item, tuple)]


async def deliver_by_smtp(imap: ImapServer, smtp_port: int, client_tls) -> list[bytes]:
    sent = sent_messages()
    await asyncio.to_thread(send_with_smtplib, smtp_port, imap.alias, sent, client_tls)
    held = stored(imap)
    assert len(held) == len(sent)
    for body, raw in zip(held, sent, strict=True):
        assert body.endswith(raw) and body.startswith(b"Return-Path: <journal-sender@")
    assert await asyncio.to_thread(fetch_all_with_imaplib, imap) == held
    return held


async def test_fetchmail_keeps_then_deletes(
    imap: ImapServer,
    smtp_port: int,
    client_tls,
    ca_pem: Path,
    tmp_path: Path,
) -> None:
    held = await deliver_by_smtp(imap, smtp_port, client_tls)
    assert await asyncio.to_thread(run_fetchmail, imap, ca_pem, tmp_path, True) == held
    assert len(imap.messages()) == len(held)
    assert await asyncio.to_thread(run_fetchmail, imap, ca_pem, tmp_path, False) == held
    assert imap.messages() == []


async def test_getmail_over_imaps(
    imap: ImapServer,
    smtp_port: int,
    client_tls,
    ca_pem: Path,
    tmp_path: Path,
) -> None:
    held = await deliver_by_smtp(imap, smtp_port, client_tls)
    delivered = await asyncio.to_thread(run_getmail, imap, ca_pem, tmp_path, True)
    expected = [unfold_header(as_getmail_delivers(body)) for body in held]
    assert [unfold_header(d) for d in delivered] == expected
    assert imap.messages() == []


async def test_mbsync_sync_pull(
    imap: ImapServer,
    smtp_port: int,
    client_tls,
    ca_pem: Path,
    tmp_path: Path,
) -> None:
    held = await deliver_by_smtp(imap, smtp_port, client_tls)
    mirrored = await asyncio.to_thread(run_mbsync, imap, ca_pem, tmp_path)
    assert [without_tuid(m) for m in mirrored] == [body.replace(b"\r\n", b"\n") for body in held]
    # A second run finds nothing new; a new delivery is pulled incrementally.
    await asyncio.to_thread(
        send_with_smtplib, smtp_port, imap.alias, [sample_message(9)], client_tls
    )
    again = await asyncio.to_thread(run_mbsync, imap, ca_pem, tmp_path)
    assert again[: len(held)] == mirrored
    assert without_tuid(again[-1]) == stored(imap)[-1].replace(b"\r\n", b"\n")


async def test_idle_sees_an_smtp_delivery(
    imap: ImapServer,
    smtp_port: int,
    client_tls,
) -> None:
    def client() -> list[bytes]:
        c = imap.login()
        tag = c._new_tag()
        c.send(tag + b" IDLE\r\n")
        lines = [c.readline()]
        send_with_smtplib(smtp_port, imap.alias, [sample_message(5)], client_tls)
        lines.append(c.readline())
        c.send(b"DONE\r\n")
        lines.append(c.readline())
        c.logout()
        return lines

    lines = await asyncio.to_thread(client)
    assert lines[0] == b"+ idling\r\n"
    assert lines[1] == b"* 1 EXISTS\r\n"
    assert lines[2].endswith(b" OK IDLE terminated\r\n")
