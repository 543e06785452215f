"""Promises of the Sources area: settings, sealed credentials, runs, and tracking that
is committed with the message it tracks."""

from __future__ import annotations

import pytest

from storage import AlreadyExists, Mailbox, NotFound, Store
from storage.sources import FetchedKey, checked_settings

PASSWORD = "source-password-Zq7!"


def _settings(**changes):
    values = {"protocol": "imap", "host": "mail.example.net", "username": "info@example.net"}
    return checked_settings(**(values | changes))


def _add(store: Store, mailbox: Mailbox, name: str = "info", **changes):
    return store.sources.add(mailbox.id, name, _settings(**changes), {"password": PASSWORD})


def _deliver(store: Store, mailbox: Mailbox, body: bytes = b"Subject: x\r\n\r\nhello\r\n"):
    delivery = store.messages.begin_delivery(mailbox.id)
    delivery.write(body)
    return delivery


def test_a_source_keeps_its_settings_and_defaults(contract_store: Store, box) -> None:
    mailbox, _ = box
    source = _add(contract_store, mailbox, comment_free := "info")
    assert source.name == comment_free and source.mailbox_id == mailbox.id
    assert source.settings.port == 993 and source.settings.folders == ("INBOX",)
    assert source.active and not source.failing and source.last_run is None
    assert contract_store.sources.get(source.id) == source
    assert contract_store.sources.list(mailbox.id) == [source]
    assert contract_store.sources.list() == [source]
    with pytest.raises(AlreadyExists):
        _add(contract_store, mailbox)
    with pytest.raises(NotFound):
        contract_store.sources.get("src-none")


def test_credentials_are_sealed_and_only_secret_opens_them(
    contract_store: Store, box, tmp_path
) -> None:
    mailbox, _ = box
    source = _add(contract_store, mailbox)
    assert contract_store.sources.secret(source.id) == {"password": PASSWORD}
    assert PASSWORD not in repr(source) and PASSWORD not in repr(source.document())
    # The index row, whichever index holds it (SQLite file or PostgreSQL table).
    stored = contract_store.db.conn().execute("SELECT secret FROM sources").fetchone()[0]  # type: ignore[attr-defined]
    assert stored.startswith("sealed:v1:") and PASSWORD not in stored
    contract_store.close()
    for name in ("gateway.db", "gateway.db-wal"):  # the index file alone holds no password
        path = tmp_path / "data" / name
        if path.exists():
            assert PASSWORD.encode() not in path.read_bytes()


def test_update_changes_what_is_given_and_a_new_account_forgets_tracking(
    contract_store: Store, box
) -> None:
    mailbox, _ = box
    source = _add(contract_store, mailbox)
    contract_store.sources.skip(source.id, FetchedKey("INBOX", 7, "1"), "too big", 10)
    updated = contract_store.sources.update(source.id, comment="shared inbox", active=False)
    assert updated.comment == "shared inbox" and not updated.active
    assert contract_store.sources.folder_state(source.id, "INBOX") == (7, {"1"})
    contract_store.sources.update(source.id, settings=_settings(keep=True))
    assert contract_store.sources.folder_state(source.id, "INBOX") == (7, {"1"})
    contract_store.sources.update(source.id, settings=_settings(username="other@example.net"))
    assert contract_store.sources.folder_state(source.id, "INBOX") == (None, set())
    contract_store.sources.update(source.id, secret={"password": "new-one"})
    assert contract_store.sources.secret(source.id) == {"password": "new-one"}
    _add(contract_store, mailbox, "second")
    with pytest.raises(AlreadyExists):
        contract_store.sources.update(source.id, name="second")


def test_runs_mark_failing_and_count_failures_in_a_row(contract_store: Store, box) -> None:
    mailbox, _ = box
    source = _add(contract_store, mailbox)
    failed = contract_store.sources.record_run(
        source.id, at=100.0, count=0, error="authentication failed", failed=True
    )
    assert failed.failing and failed.failures == 1 and failed.last_error == "authentication failed"
    again = contract_store.sources.record_run(source.id, at=200.0, count=0, error="x", failed=True)
    assert again.failures == 2 and again.last_success is None
    ok = contract_store.sources.record_run(source.id, at=300.0, count=4, error="", failed=False)
    assert not ok.failing and ok.failures == 0 and ok.last_success == 300.0 and ok.last_count == 4


def test_a_fetched_message_and_its_key_commit_together(contract_store: Store, box) -> None:
    mailbox, _ = box
    source = _add(contract_store, mailbox)
    where = FetchedKey("INBOX", 41, "5")
    info = contract_store.sources.commit_fetched(
        source.id, where, _deliver(contract_store, mailbox)
    )
    assert [m.id for m in contract_store.messages.list(mailbox.id)] == [info.id]
    assert contract_store.sources.folder_state(source.id, "INBOX") == (41, {"5"})
    assert contract_store.sources.skipped(source.id) == []


def test_a_failed_commit_stores_neither_the_message_nor_its_key(contract_store: Store, box) -> None:
    mailbox, _ = box
    source = _add(contract_store, mailbox)
    delivery = _deliver(contract_store, mailbox)
    contract_store.sources.remove(source.id)  # the tracking row now cannot be written
    with pytest.raises(Exception):  # the implementation's own integrity error
        contract_store.sources.commit_fetched(source.id, FetchedKey("", 0, "u1"), delivery)
    assert contract_store.messages.list(mailbox.id) == []


def test_skips_are_recorded_and_shown(contract_store: Store, box) -> None:
    mailbox, _ = box
    source = _add(contract_store, mailbox, protocol="pop3")
    contract_store.sources.skip(source.id, FetchedKey("", 0, "big-1"), "over the size limit", 9)
    [skipped] = contract_store.sources.skipped(source.id)
    assert (skipped.key, skipped.reason, skipped.size) == ("big-1", "over the size limit", 9)
    assert contract_store.sources.folder_state(source.id, "") == (0, {"big-1"})


def test_a_new_uidvalidity_forgets_the_folder_and_missing_keys_are_forgotten(
    contract_store: Store, box
) -> None:
    mailbox, _ = box
    source = _add(contract_store, mailbox)
    for key in ("1", "2", "3"):
        contract_store.sources.skip(source.id, FetchedKey("INBOX", 9, key), "x", 1)
    assert contract_store.sources.forget_missing(source.id, "INBOX", {"2", "3", "4"}) == 1
    assert contract_store.sources.folder_state(source.id, "INBOX") == (9, {"2", "3"})
    assert contract_store.sources.reset_folder(source.id, "INBOX", 10) == 2
    assert contract_store.sources.folder_state(source.id, "INBOX") == (10, set())


def test_removing_a_source_or_its_mailbox_removes_its_rows(contract_store: Store, box) -> None:
    mailbox, _ = box
    source = _add(contract_store, mailbox)
    contract_store.sources.remove(source.id)
    with pytest.raises(NotFound):
        contract_store.sources.remove(source.id)
    _add(contract_store, mailbox)
    contract_store.mailboxes.update(mailbox.id, status="disabled")
    contract_store.mailboxes.delete(mailbox.id)
    assert contract_store.sources.list() == []
