"""Domains, mailboxes, addresses, statuses, quotas and networks (DESIGN §4)."""

from __future__ import annotations

import re

import pytest

from storage import (
    AlreadyExists,
    InvalidInput,
    NotEmpty,
    NotFound,
    QuotaExceeded,
    StorageFull,
    open_store,
)
from storage.models import STATUSES
from tests.support.argon import FAST_KDF

from .helpers import blob_files, deliver

MAILBOX_ID = re.compile(r"^mbx-[0-9a-hjkmnp-tv-z]{20}$")


# --- domains ---------------------------------------------------------------------


def test_domains_add_list_remove(store) -> None:
    assert store.domains.add("Example.TEST.").name == "example.test"
    store.domains.add("other.example")
    assert [d.name for d in store.domains.list()] == ["example.test", "other.example"]
    assert store.domains.get("EXAMPLE.test").mailboxes == 0
    store.domains.remove("other.example")
    assert [d.name for d in store.domains.list()] == ["example.test"]
    with pytest.raises(NotFound):
        store.domains.remove("other.example")
    with pytest.raises(NotFound):
        store.domains.get("nowhere.example")


def test_international_domain_is_stored_as_punycode(store) -> None:
    assert store.domains.add("bücher.example").name == "xn--bcher-kva.example"
    with pytest.raises(AlreadyExists):
        store.domains.add("XN--BCHER-KVA.example")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "localhost",
        "-bad.example",
        "bad-.example",
        "a..example",
        "under_score.example",
        "sp ace.example",
        "x" * 64 + ".example",
        "example.test/x",
    ],
)
def test_invalid_domain_names(store, name: str) -> None:
    with pytest.raises(InvalidInput):
        store.domains.add(name)
    assert store.domains.list() == []


def test_duplicate_domain(store, domain) -> None:
    with pytest.raises(AlreadyExists):
        store.domains.add("EXAMPLE.test")


def test_domain_with_mailboxes_cannot_be_removed(store, mailbox, domain) -> None:
    box, _ = mailbox
    assert store.domains.get(domain).mailboxes == 1
    with pytest.raises(NotEmpty):
        store.domains.remove(domain)
    store.mailboxes.delete(box.id)
    store.domains.remove(domain)
    assert store.domains.list() == []


# --- mailboxes and addresses -------------------------------------------------------


def test_new_mailbox_defaults(store, domain) -> None:
    box, passphrase = store.mailboxes.create(domain, actor=None)
    assert MAILBOX_ID.match(box.id)
    assert box.address == f"{box.id}@{domain}" and box.aliases == ()
    assert (box.name, box.description, box.status, box.quota) == (box.id, "", "active", 0)
    assert box.protocols == ("pop3", "imap") and box.allowed_networks == ()
    assert (box.messages, box.bytes, box.last_login) == (0, 0, None)
    assert box.uidvalidity > 0
    assert re.match(r"^[0-9A-Z]{5}(-[0-9A-Z]{5}){5}$", passphrase)
    assert passphrase not in repr(box)
    assert store.keys.unlock(box.id, passphrase).can_read(1)
    assert [m.id for m in store.mailboxes.list()] == [box.id]


def test_mailbox_ids_and_passphrases_are_distinct(store, domain) -> None:
    made = [store.mailboxes.create(domain, actor=None) for _ in range(5)]
    assert len({box.id for box, _ in made}) == 5
    assert len({passphrase for _, passphrase in made}) == 5


def test_mailbox_in_unknown_domain(store, domain) -> None:
    with pytest.raises(NotFound):
        store.mailboxes.create("nowhere.example", actor=None)
    assert store.mailboxes.list() == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": "paused"},
        {"quota": -1},
        {"aliases": ["no-at-sign"]},
        {"aliases": ["two@@example.test"]},
        {"aliases": ['"quoted"@example.test']},
        {"aliases": [".dot@example.test"]},
        {"aliases": ["a..b@example.test"]},
        {"aliases": ["x" * 65 + "@example.test"]},
        {"aliases": ["someone@not-accepted.example"]},
    ],
)
def test_invalid_mailbox_input_changes_nothing(store, domain, kwargs) -> None:
    with pytest.raises(InvalidInput):
        store.mailboxes.create(domain, **kwargs, actor=None)
    assert store.mailboxes.list() == []


def test_addresses_are_unique_across_the_gateway_case_insensitively(store, domain) -> None:
    store.domains.add("other.example")
    first, _ = store.mailboxes.create(domain, aliases=["Journal@Example.test"], actor=None)
    assert first.aliases == ("journal@example.test",)
    with pytest.raises(AlreadyExists):
        store.mailboxes.create("other.example", aliases=["JOURNAL@example.TEST"], actor=None)
    with pytest.raises(AlreadyExists):
        store.mailboxes.create(domain, aliases=["a@example.test", "A@example.test"], actor=None)
    with pytest.raises(AlreadyExists):
        store.mailboxes.create(domain, aliases=[first.address.upper()], actor=None)
    assert [m.id for m in store.mailboxes.list()] == [first.id]
    second, _ = store.mailboxes.create(domain, actor=None)
    with pytest.raises(AlreadyExists):
        store.mailboxes.add_alias(second.id, "jOuRnAl@example.test", actor=None)
    assert store.mailboxes.get(second.id).aliases == ()


def test_lookup_by_id_or_any_address(store, domain) -> None:
    box, _ = store.mailboxes.create(domain, aliases=["journal@example.test"], actor=None)
    for ref in (
        box.id,
        box.id.upper(),
        box.address,
        box.address.upper(),
        "JOURNAL@EXAMPLE.TEST",
        "<journal@example.test>",
        " journal@example.test ",
    ):
        assert store.mailboxes.get(ref).id == box.id, ref
    for ref in ("mbx-00000000000000000000", "nobody@example.test", "journal@other.example", ""):
        assert store.mailboxes.find(ref) is None
        with pytest.raises(NotFound):
            store.mailboxes.get(ref)


def test_aliases_added_and_removed(store, domain) -> None:
    box, _ = store.mailboxes.create(domain, actor=None)
    store.mailboxes.add_alias(box.id, "Archive@Example.test", actor=None)
    store.mailboxes.add_alias(box.address, "b@example.test", actor=None)
    assert store.mailboxes.get(box.id).aliases == ("archive@example.test", "b@example.test")
    assert store.mailboxes.get("ARCHIVE@example.test").id == box.id
    store.mailboxes.remove_alias(box.id, "ARCHIVE@example.test")
    assert store.mailboxes.get(box.id).aliases == ("b@example.test",)
    assert store.mailboxes.find("archive@example.test") is None
    with pytest.raises(NotFound):
        store.mailboxes.remove_alias(box.id, box.address)  # the primary address is not an alias
    with pytest.raises(InvalidInput):
        store.mailboxes.add_alias(box.id, "x@unknown.example", actor=None)
    assert store.mailboxes.get(box.id).address == box.address


# --- statuses ------------------------------------------------------------------------

STATUS_TABLE = {  # status: (SMTP accepts, retrieval login allowed), as in DESIGN §4
    "active": (True, True),
    "hold": (False, True),
    "receive-only": (True, False),
    "disabled": (False, False),
}


def test_status_table_is_complete() -> None:
    assert set(STATUS_TABLE) == set(STATUSES)


@pytest.mark.parametrize("status", list(STATUS_TABLE))
def test_status_meaning(store, domain, status: str) -> None:
    box, _ = store.mailboxes.create(domain, actor=None)
    updated = store.mailboxes.update(box.id, status=status)
    assert updated.status == status == store.mailboxes.get(box.id).status
    assert (updated.accepts_mail(), updated.allows_login()) == STATUS_TABLE[status]
    created, _ = store.mailboxes.create(domain, status=status, actor=None)
    assert created.status == status


def test_update_mailbox_fields_and_refusals(store, mailbox) -> None:
    box, _ = mailbox
    updated = store.mailboxes.update(
        box.id, name="Acme", description="Journal of Acme", protocols=["imap", "imap"]
    )
    assert (updated.name, updated.description, updated.protocols) == (
        "Acme",
        "Journal of Acme",
        ("imap",),
    )
    assert store.mailboxes.update(box.id, name="  ").name == box.id
    for bad in (
        {"status": "frozen"},
        {"quota": -5},
        {"protocols": ["smtp"]},
        {"allowed_networks": ["10.0.0.0/33"]},
        {"allowed_networks": ["example.test"]},
    ):
        with pytest.raises(InvalidInput):
            store.mailboxes.update(box.id, **bad)
    assert store.mailboxes.get(box.id) == store.mailboxes.update(box.id)
    with pytest.raises(NotFound):
        store.mailboxes.update("mbx-00000000000000000000", name="x")


def test_allowed_networks_are_normalized(store, mailbox) -> None:
    box, _ = mailbox
    updated = store.mailboxes.update(
        box.id, allowed_networks=[" 10.1.2.3/8", "2001:DB8::1/32", "192.0.2.7"]
    )
    assert updated.allowed_networks == ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32")
    assert store.mailboxes.update(box.id, allowed_networks=[]).allowed_networks == ()


# --- quotas and disk reserve --------------------------------------------------------


def test_quota_counts_stored_bytes(store, mailbox) -> None:
    box, _ = mailbox
    store.messages.check_can_receive(box.id, size_hint=1 << 20)  # 0 = unlimited
    info = deliver(store, box.id, b"Subject: q\r\n\r\n" + b"x" * 5000)
    assert store.mailboxes.get(box.id).bytes == info.stored_size
    store.mailboxes.update(box.id, quota=info.stored_size + 100)
    store.messages.check_can_receive(box.id)
    store.messages.check_can_receive(box.id, size_hint=100)
    with pytest.raises(QuotaExceeded):
        store.messages.check_can_receive(box.id, size_hint=101)
    store.mailboxes.update(box.id, quota=info.stored_size)
    with pytest.raises(QuotaExceeded):
        store.messages.check_can_receive(box.id, size_hint=1)
    store.messages.delete(box.id, [info.id])
    assert store.mailboxes.get(box.id).bytes == 0
    store.messages.check_can_receive(box.id, size_hint=info.stored_size)
    with pytest.raises(NotFound):
        store.messages.check_can_receive("mbx-00000000000000000000")


def test_disk_reserve(tmp_path) -> None:
    store = open_store(tmp_path / "data", kdf=FAST_KDF, disk_reserve=1 << 60)
    try:
        store.domains.add("example.test")
        box, _ = store.mailboxes.create("example.test", actor=None)
        with pytest.raises(StorageFull):
            store.messages.check_can_receive(box.id)
    finally:
        store.close()


# --- deletion ------------------------------------------------------------------------


def test_delete_mailbox(store, domain, data_dir) -> None:
    box, passphrase = store.mailboxes.create(domain, aliases=["journal@example.test"], actor=None)
    keep, _ = store.mailboxes.create(domain, actor=None)
    kept = deliver(store, keep.id, b"Subject: keep\r\n\r\n")
    for n in range(3):
        deliver(store, box.id, f"Subject: {n}\r\n\r\n".encode())
    with pytest.raises(NotEmpty):
        store.mailboxes.delete(box.id)
    assert store.mailboxes.get(box.id).messages == 3
    assert store.mailboxes.delete("JOURNAL@example.test", force=True) == 3
    assert store.mailboxes.find(box.id) is None
    assert [p.stem for p in blob_files(data_dir)] == [kept.id]
    assert store.messages.list(box.id) == []
    with pytest.raises(NotFound):
        store.keys.unlock(box.id, passphrase)
    # Its addresses are free again.
    again, _ = store.mailboxes.create(domain, aliases=["journal@example.test"], actor=None)
    assert again.aliases == ("journal@example.test",)
    with pytest.raises(NotFound):
        store.mailboxes.delete(box.id)


def test_directory_survives_reopening(store, domain, data_dir) -> None:
    box, passphrase = store.mailboxes.create(
        domain, name="Acme", aliases=["acme@example.test"], actor=None
    )
    store.mailboxes.update(box.id, status="hold", quota=12345, allowed_networks=["10.0.0.0/8"])
    before = store.mailboxes.get(box.id)
    store.close()
    reopened = open_store(data_dir, kdf=FAST_KDF)
    try:
        assert reopened.mailboxes.get("acme@example.test") == before
        assert reopened.keys.unlock(box.id, passphrase).can_read(1)
    finally:
        reopened.close()
