"""Fetching from a real Dovecot: POP3 and IMAP, STARTTLS and implicit TLS, keep and
delete; what is stored is the source's message plus the SMTP path's trace headers."""

from __future__ import annotations

import re

from storage.sources import POP3_FOLDER
from tests.support.mail import plaintext

from .conftest import add_source


def message(n: int, body: bytes = b"") -> bytes:
    """A message as a Maildir holds it (LF line endings)."""
    return (
        f"From: sender{n}@example.org\nTo: info@source.test\nSubject: fetched {n}\n"
        f"Message-ID: <m{n}@example.org>\n\nline one of {n}\n.leading dot\n\n".encode()
        + body
    )


def stored(store, mailbox) -> list[bytes]:
    mbx, passphrase = mailbox
    key = store.keys.unlock(mbx.id, passphrase)
    return [plaintext(store, key, m) for m in store.messages.list(mbx.id)]


def split_trace(raw: bytes) -> tuple[bytes, bytes]:
    """(the gateway's trace lines, the rest) of a stored fetched message."""
    line, more = rb"[^\r\n]+\r\n", rb"\t[^\r\n]+\r\n"
    match = re.match(rb"(Delivered-To: " + line + rb"Received: " + line + more + more + rb")", raw)
    assert match, raw[:300]
    return match.group(1), raw[match.end() :]


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\n", b"\r\n")


def test_pop3_starttls_delete_mode_stores_then_deletes(store, mailbox, account, fetcher, ca_pem):
    originals = [message(1), message(2, b"x" * 100_000 + b"\n")]
    for raw in originals:
        account.put(raw)
    source = add_source(store, mailbox, account, "pop3", "pop3", ca_file=str(ca_pem))
    outcome = fetcher.run(source)
    assert (outcome.fetched, outcome.deleted, outcome.error) == (2, 2, "")
    assert account.remaining() == []
    got = stored(store, mailbox)
    assert sorted(split_trace(g)[1] for g in got) == sorted(crlf(r) for r in originals)
    trace, _ = split_trace(got[0])
    first = f"Delivered-To: {mailbox[0].address}\r\nReceived: from 127.0.0.1 ([127.0.0.1])"
    assert trace.startswith(first.encode())
    assert re.search(rb"by gateway\.test \(Journal Gateway\) with POP3S \(TLSv1\.[23] ", trace)
    assert store.messages.list(mailbox[0].id)[0].id.encode() in trace
    after = store.sources.get(source.id)
    assert after.last_count == 2 and not after.failing and after.last_success is not None


def test_imap_keep_mode_never_imports_twice(store, mailbox, account, fetcher, ca_pem):
    account.put(message(1))
    account.put(message(2))
    source = add_source(store, mailbox, account, "imap", "imaps", ca_file=str(ca_pem), keep=True)
    assert fetcher.run(source).fetched == 2
    assert fetcher.run(source).fetched == 0
    account.put(message(3))
    again = fetcher.run(source)
    assert (again.fetched, again.deleted) == (1, 0)
    assert len(account.remaining()) == 3
    bodies = sorted(split_trace(g)[1] for g in stored(store, mailbox))
    assert bodies == sorted(crlf(message(n)) for n in (1, 2, 3))
    trace, _ = split_trace(stored(store, mailbox)[0])
    assert b"with IMAPS (TLSv1." in trace


def test_imap_starttls_delete_mode_expunges_after_the_commit(
    store, mailbox, account, fetcher, ca_pem
):
    account.put(message(1))
    source = add_source(store, mailbox, account, "imap", "imap", ca_file=str(ca_pem))
    outcome = fetcher.run(source)
    assert (outcome.error, outcome.fetched, outcome.deleted) == ("", 1, 1)
    assert account.remaining() == []
    assert [split_trace(g)[1] for g in stored(store, mailbox)] == [crlf(message(1))]


def test_pop3s_keep_mode_tracks_uidls(store, mailbox, account, fetcher, ca_pem):
    account.put(message(1))
    source = add_source(store, mailbox, account, "pop3", "pop3s", ca_file=str(ca_pem), keep=True)
    assert fetcher.run(source).fetched == 1
    assert fetcher.run(source).fetched == 0
    assert len(account.remaining()) == 1
    _, keys = store.sources.folder_state(source.id, POP3_FOLDER)
    assert len(keys) == 1
