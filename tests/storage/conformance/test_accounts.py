"""Promises of the Admins, Sessions, ApiTokens, AuditLog, LoginClients and Sealing areas."""

from __future__ import annotations

import pytest

from storage import AlreadyExists, InvalidInput, NotFound, SealError, Store


def test_a_right_password_verifies_and_a_wrong_one_gives_None(contract_store: Store) -> None:
    admin, password = contract_store.admins.create("alice", role="viewer")
    assert admin.role == "viewer"
    assert contract_store.admins.verify_password("alice", password) == admin
    assert contract_store.admins.verify_password("alice", password + "x") is None
    assert contract_store.admins.verify_password("nobody", password) is None


def test_a_disabled_admin_never_verifies(contract_store: Store) -> None:
    _, password = contract_store.admins.create("alice")
    contract_store.admins.update("alice", disabled=True)
    assert contract_store.admins.verify_password("alice", password) is None


def test_creating_an_admin_twice_raises_AlreadyExists(contract_store: Store) -> None:
    contract_store.admins.create("alice")
    with pytest.raises(AlreadyExists):
        contract_store.admins.create("alice")
    with pytest.raises(InvalidInput):
        contract_store.admins.create("bob", role="emperor")
    assert contract_store.admins.count() == 1


def test_a_totp_secret_is_returned_as_stored(contract_store: Store) -> None:
    contract_store.admins.create("alice")
    contract_store.admins.set_totp("alice", "JBSWY3DPEHPK3PXP", [])
    assert contract_store.admins.totp("alice")[0] == "JBSWY3DPEHPK3PXP"
    assert contract_store.admins.count_totp() == 1
    contract_store.admins.set_totp("alice", None, [])
    assert contract_store.admins.totp("alice") == (None, [])


def test_sealed_values_open_only_for_their_purpose_and_owner(contract_store: Store) -> None:
    sealing = contract_store.sealing
    assert sealing.problem() is None
    sealed = sealing.seal("totp", "alice", "secret")
    assert "secret" not in sealed
    assert sealing.unseal("totp", "alice", sealed) == "secret"
    with pytest.raises(SealError):
        sealing.unseal("totp", "bob", sealed)


def test_a_session_is_found_only_by_its_secret(contract_store: Store) -> None:
    contract_store.admins.create("alice")
    session, raw = contract_store.sessions.create("alice", source="127.0.0.1")
    assert contract_store.sessions.get(raw) == session
    assert contract_store.sessions.get(raw + "x") is None
    contract_store.sessions.delete(raw)
    assert contract_store.sessions.get(raw) is None


def test_a_signing_key_is_made_once_and_shared_by_every_store_on_the_data(
    contract_store: Store, sibling_store: Store
) -> None:
    key = contract_store.sessions.signing_key("web-csrf")
    assert len(key) == 32
    assert contract_store.sessions.signing_key("web-csrf") == key
    assert sibling_store.sessions.signing_key("web-csrf") == key  # another worker or node
    assert contract_store.sessions.signing_key("other") != key


@pytest.mark.parametrize("name", ["", "UPPER", "with space", "x" * 65, "-lead"])
def test_a_bad_signing_key_name_is_refused(contract_store: Store, name: str) -> None:
    with pytest.raises(ValueError):
        contract_store.sessions.signing_key(name)


def test_deleting_an_admin_ends_its_sessions_and_tokens(contract_store: Store) -> None:
    contract_store.admins.create("alice")
    _, raw_session = contract_store.sessions.create("alice")
    _, raw_token = contract_store.tokens.create("alice", "ci")
    contract_store.admins.delete("alice")
    assert contract_store.sessions.get(raw_session) is None
    assert contract_store.tokens.verify(raw_token) is None
    with pytest.raises(NotFound):
        contract_store.sessions.create("alice")


def test_a_revoked_token_no_longer_verifies(contract_store: Store) -> None:
    contract_store.admins.create("alice")
    contract_store.admins.create("bob")
    token, raw = contract_store.tokens.create("alice", "ci")
    assert contract_store.tokens.verify(raw) == token
    with pytest.raises(NotFound):
        contract_store.tokens.revoke(token.id, admin="bob")
    contract_store.tokens.revoke(token.id)
    assert contract_store.tokens.verify(raw) is None
    assert contract_store.tokens.list() == []


def test_audit_entries_are_listed_newest_first_and_filtered(contract_store: Store) -> None:
    contract_store.audit.record("alice", "mailbox.create", "mbx-1")
    contract_store.audit.record("bob", "domain.add", "example.test", source="10.0.0.1")
    assert [e.action for e in contract_store.audit.list()] == ["domain.add", "mailbox.create"]
    (entry,) = contract_store.audit.list(actor="ali")
    assert (entry.actor, entry.target) == ("alice", "mbx-1")
    assert contract_store.audit.list(before_id=entry.id) == []


def test_login_clients_are_forgotten_on_passphrase_reset(contract_store: Store, box) -> None:
    mailbox, _ = box
    contract_store.login_clients.record(mailbox.id, "192.0.2.1")
    contract_store.login_clients.record(mailbox.id, "192.0.2.2")
    assert contract_store.login_clients.known(mailbox.id) == ["192.0.2.2", "192.0.2.1"]
    assert contract_store.login_clients.is_known(mailbox.id, "192.0.2.1")
    contract_store.keys.reset_passphrase(mailbox.id)
    assert contract_store.login_clients.known(mailbox.id) == []
