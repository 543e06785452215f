"""Faults caused for real against the test Dovecot: each run fails or skips with a clear
error, the source shows it, and nothing at the source is lost."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import ssl

from gateway.sources import Fetcher, FetchOptions
from storage import open_store
from storage.sealing import Sealer, default_sealer
from storage.sources import FetchedKey
from tests.support.argon import FAST_KDF
from tests.support.dovecot import put_message
from tests.support.ports import free_port

from .conftest import MAX_SIZE, add_source
from .test_fetch import crlf, message, split_trace, stored


def test_a_wrong_password_marks_the_source_failing_and_keeps_the_mail(
    store, mailbox, account, fetcher, ca_pem, caplog
):
    account.put(message(1))
    source = add_source(
        store, mailbox, account, "imap", "imaps", ca_file=str(ca_pem), password="wrong-Secret-42"
    )
    with caplog.at_level(logging.DEBUG):
        outcome = fetcher.run(source)
    assert outcome.cause == "auth" and outcome.fetched == 0
    after = store.sources.get(source.id)
    assert after.failing and after.failures == 1
    assert "refused the login" in after.last_error and "AUTHENTICATIONFAILED" in after.last_error
    assert "wrong-Secret-42" not in after.last_error + caplog.text
    assert len(account.remaining()) == 1 and stored(store, mailbox) == []


def test_a_server_that_is_down_is_a_connect_failure(store, mailbox, account, fetcher):
    source = add_source(store, mailbox, account, "pop3", "pop3s", port=free_port())
    outcome = fetcher.run(source)
    assert outcome.cause == "connect"
    assert "cannot reach 127.0.0.1" in store.sources.get(source.id).last_error


def test_an_untrusted_certificate_is_refused_before_the_login(store, mailbox, account, fetcher):
    account.put(message(1))
    source = add_source(store, mailbox, account, "imap", "imaps")  # system CAs: not trustme's
    outcome = fetcher.run(source)
    assert outcome.cause == "tls" and "is not trusted" in outcome.error
    assert len(account.remaining()) == 1 and stored(store, mailbox) == []


def test_a_pinned_fingerprint_is_checked(store, mailbox, account, fetcher):
    account.put(message(1))
    pem = ssl.get_server_certificate(("127.0.0.1", account.server.ports["pop3s"]))
    pin = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    wrong = add_source(store, mailbox, account, "pop3", "pop3s", fingerprint="ab" * 32, keep=True)
    outcome = fetcher.run(wrong)
    assert outcome.cause == "tls" and "does not match the pinned fingerprint" in outcome.error
    right = add_source(
        store, mailbox, account, "pop3", "pop3s", name="pinned", fingerprint=pin.upper()
    )
    assert fetcher.run(right).fetched == 1


def test_a_huge_and_a_malformed_message_are_skipped_and_the_rest_flows(
    store, mailbox, account, fetcher, ca_pem
):
    account.put(message(1))
    account.put(message(2, b"y" * 1000 + b"\n") * (MAX_SIZE // 1000))  # over the limit
    account.put(b"this is no header\n\nbody\n")
    account.put(message(3))
    source = add_source(store, mailbox, account, "pop3", "pop3s", ca_file=str(ca_pem))
    outcome = fetcher.run(source)
    assert (outcome.fetched, outcome.skipped, outcome.cause) == (2, 2, "")
    reasons = sorted(s.reason for s in store.sources.skipped(source.id))
    assert reasons[0].startswith("malformed") and reasons[1].startswith("over the size limit")
    after = store.sources.get(source.id)
    assert not after.failing and "skipped" in after.last_error
    assert sorted(split_trace(g)[1] for g in stored(store, mailbox)) == sorted(
        crlf(message(n)) for n in (1, 3)
    )
    assert len(account.remaining()) == 2  # the skipped ones stay at the source
    again = fetcher.run(source)  # and are not tried again
    assert (again.fetched, again.skipped, again.deleted) == (0, 0, 0)


def test_a_mailbox_on_hold_is_not_fetched_into(store, mailbox, account, fetcher, ca_pem):
    account.put(message(1))
    store.mailboxes.update(mailbox[0].id, status="hold")
    source = add_source(store, mailbox, account, "imap", "imaps", ca_file=str(ca_pem))
    outcome = fetcher.run(source)
    assert outcome.fetched == 0 and "mailbox is hold" in outcome.error
    assert len(account.remaining()) == 1


def test_over_quota_the_run_stops_and_the_rest_stays(store, mailbox, account, fetcher, ca_pem):
    for n in range(3):  # random text: the stored (compressed) size stays about 15 kB
        account.put(message(n, base64.b64encode(os.urandom(15_000)) + b"\n"))
    store.mailboxes.update(mailbox[0].id, quota=25_000)
    source = add_source(store, mailbox, account, "pop3", "pop3s", ca_file=str(ca_pem))
    outcome = fetcher.run(source)
    assert outcome.fetched == 1 and "over its quota" in outcome.error
    assert len(account.remaining()) == 2


def test_a_new_uidvalidity_is_logged_and_the_folder_fetched_again(
    store, mailbox, account, fetcher, ca_pem, caplog
):
    account.put(message(1))
    source = add_source(store, mailbox, account, "imap", "imaps", ca_file=str(ca_pem), keep=True)
    assert fetcher.run(source).fetched == 1
    validity, keys = store.sources.folder_state(source.id, "INBOX")
    store.sources.reset_folder(source.id, "INBOX", validity + 1)  # as if it had changed
    store.sources.skip(source.id, FetchedKey("INBOX", validity + 1, "1"), "x", 1)
    with caplog.at_level(logging.WARNING, "gateway.sources"):
        outcome = fetcher.run(source)
    assert "UIDVALIDITY of folder 'INBOX' changed" in caplog.text
    assert outcome.fetched == 1 and "UIDVALIDITY of INBOX changed" in outcome.error
    assert store.sources.folder_state(source.id, "INBOX") == (validity, keys)


def test_folders_with_non_ascii_names_are_read(store, mailbox, account, fetcher, ca_pem):
    folder = account.maildir / ".Entw&APw-rfe"  # Maildir++ keeps names in modified UTF-7
    for sub in ("", "new", "cur", "tmp"):
        (folder / sub).mkdir(exist_ok=True)
        os.chown(folder / sub, *_owner(account.maildir))
    put_message(folder, message(2))
    account.put(message(1))
    source = add_source(
        store, mailbox, account, "imap", "imaps", ca_file=str(ca_pem), folders=["INBOX", "Entwürfe"]
    )
    outcome = fetcher.run(source)
    assert (outcome.error, outcome.fetched, outcome.deleted) == ("", 2, 2)
    assert store.sources.folder_state(source.id, "Entwürfe")[0] is not None


def _owner(path):
    info = path.stat()
    return info.st_uid, info.st_gid


def test_credentials_under_another_seal_key_fail_clearly(store, mailbox, account, ca_pem, data_dir):
    source = add_source(store, mailbox, account, "pop3", "pop3s", ca_file=str(ca_pem))
    other = open_store(data_dir, kdf=FAST_KDF, sealer=Sealer(b"k" * 32, "another key"))
    try:
        assert other.sealing.problem() is not None  # not adopted: the sources need the old key
        fetcher = Fetcher(other, FetchOptions(hostname="gateway.test", timeout=10))
        outcome = fetcher.run(other.sources.get(source.id))
    finally:
        other.close()
    assert outcome.cause == "credentials"
    assert "do not open with this gateway's seal key" in outcome.error
    assert store.sources.get(source.id).failing
    again = open_store(data_dir, kdf=FAST_KDF, sealer=default_sealer(data_dir))
    try:  # the right key still opens them
        assert again.sources.secret(source.id) == {"password": account.password}
    finally:
        again.close()
