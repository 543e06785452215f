"""Admin accounts (argon2 PasswordHasher) and the audit log."""

from __future__ import annotations

import pytest

from storage import AlreadyExists, InvalidInput, NotFound

from .helpers import all_files


def test_create_and_verify(store, data_dir) -> None:
    admin, password = store.admins.create("alice")
    assert (admin.name, admin.role, admin.disabled, admin.totp_enabled) == (
        "alice",
        "superadmin",
        False,
        False,
    )
    assert len(password) >= 20
    assert store.admins.verify_password("alice", password) == admin
    assert store.admins.verify_password("alice", password + "x") is None
    assert store.admins.verify_password("alice", "") is None
    assert store.admins.verify_password("nobody", password) is None
    # Only an argon2 hash is kept.
    for path in all_files(data_dir):
        assert password.encode() not in path.read_bytes(), path
    raw = store.db.conn().execute("SELECT password_hash FROM admins").fetchone()[0]
    assert raw.startswith("$argon2id$")


def test_given_password_and_second_admin(store) -> None:
    _, password = store.admins.create("bob", role="viewer", password="correct horse battery")
    assert password == "correct horse battery"
    store.admins.create("carol", role="domain-admin", domains=["b.example", "a.example"])
    assert [a.name for a in store.admins.list()] == ["bob", "carol"]
    assert store.admins.get("carol").domains == ("a.example", "b.example")
    assert store.admins.count() == 2


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("", "superadmin"),
        ("-leading", "superadmin"),
        ("has space", "superadmin"),
        ("x" * 65, "superadmin"),
        ("dave", "root"),
    ],
)
def test_invalid_admin(store, name: str, role: str) -> None:
    with pytest.raises(InvalidInput):
        store.admins.create(name, role=role)
    assert store.admins.list() == []


def test_duplicate_admin_keeps_the_first_password(store) -> None:
    _, password = store.admins.create("alice")
    with pytest.raises(AlreadyExists):
        store.admins.create("alice", password="another one entirely")
    assert store.admins.verify_password("alice", password) is not None


def test_password_reset_disable_update_delete(store) -> None:
    _, old = store.admins.create("alice")
    new = store.admins.set_password("alice")
    assert new != old
    assert store.admins.verify_password("alice", old) is None
    assert store.admins.verify_password("alice", new) is not None
    store.admins.update("alice", disabled=True)
    assert store.admins.verify_password("alice", new) is None  # right password, disabled
    updated = store.admins.update("alice", disabled=False, role="viewer", language="de")
    assert (updated.role, updated.language, updated.disabled) == ("viewer", "de", False)
    with pytest.raises(InvalidInput):
        store.admins.update("alice", role="emperor")
    store.admins.set_totp("alice", "JBSWY3DPEHPK3PXP", ["h1", "h2"])
    assert store.admins.get("alice").totp_enabled
    keyed = [store.sealing.recovery_code_digest("alice", h) for h in ("h1", "h2")]
    assert store.admins.totp("alice") == ("JBSWY3DPEHPK3PXP", keyed)  # hashes keyed at rest
    store.admins.set_totp("alice", "JBSWY3DPEHPK3PXP", keyed[1:])  # a code used up
    assert store.admins.totp("alice")[1] == keyed[1:]  # keyed ones are not keyed twice
    store.admins.set_totp("alice", None, [])
    assert not store.admins.get("alice").totp_enabled
    store.admins.delete("alice")
    for call in (
        lambda: store.admins.get("alice"),
        lambda: store.admins.delete("alice"),
        lambda: store.admins.set_password("alice"),
        lambda: store.admins.totp("alice"),
    ):
        with pytest.raises(NotFound):
            call()


def test_audit_log_newest_first_with_filters_and_paging(store) -> None:
    for n in range(5):
        store.audit.record("alice", "mailbox.create", f"mbx-{n}", detail=f"n={n}", source="cli")
    store.audit.record("bob", "domain.add", "example.test", source="web 127.0.0.1")
    entries = store.audit.list()
    assert [e.action for e in entries][:2] == ["domain.add", "mailbox.create"]
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    assert all(a.time >= b.time for a, b in zip(entries, entries[1:], strict=False))
    assert [e.target for e in store.audit.list(actor="alice")] == [
        f"mbx-{n}" for n in (4, 3, 2, 1, 0)
    ]
    assert [e.actor for e in store.audit.list(action="domain")] == ["bob"]
    assert len(store.audit.list(target="example.test")) == 1
    page = store.audit.list(limit=2)
    assert len(page) == 2
    rest = store.audit.list(before_id=page[-1].id)
    assert [e.id for e in page + rest] == [e.id for e in entries]
    first = entries[-1]
    assert (first.actor, first.action, first.target, first.detail, first.source) == (
        "alice",
        "mailbox.create",
        "mbx-0",
        "n=0",
        "cli",
    )


def test_admin_passwords_use_the_stores_password_hasher(data_dir) -> None:
    from argon2 import PasswordHasher

    from storage import open_store

    light = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    store = open_store(data_dir, password_hasher=light)
    try:
        _, password = store.admins.create("alice")
        stored = store.db.conn().execute("SELECT password_hash FROM admins").fetchone()[0]
        assert "$m=1024,t=1,p=1$" in stored
        assert store.admins.verify_password("alice", password) is not None
        store.admins.set_password("alice", "a new password entirely")
        stored = store.db.conn().execute("SELECT password_hash FROM admins").fetchone()[0]
        assert "$m=1024,t=1,p=1$" in stored
        assert store.admins.verify_password("alice", "a new password entirely") is not None
    finally:
        store.close()


def test_the_default_password_hasher_has_the_production_parameters(store) -> None:
    from argon2 import PasswordHasher

    store.admins.create("alice")
    stored = store.db.conn().execute("SELECT password_hash FROM admins").fetchone()[0]
    production = PasswordHasher()
    assert f"$m={production.memory_cost},t={production.time_cost},p={production.parallelism}$" in (
        stored
    )
    assert not production.check_needs_rehash(stored)
