"""TOTP secrets are sealed under the gateway key: gateway.db alone does not reveal them."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sqlite3
import stat
import threading

import pytest

from storage import SealError, open_store
from storage.sealing import (
    Sealer,
    default_key_path,
    load_or_create_key_file,
    parse_key,
    read_key_file,
)
from tests.support.argon import FAST_KDF

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CODE_HASH = hashlib.sha256(b"k7mq2xrd9tnb").hexdigest()  # as web/totp.py hashes a code


def index_bytes(data_dir) -> bytes:
    """Everything a copy of the index would hold: gateway.db and its WAL."""
    return b"".join(
        path.read_bytes()
        for path in (data_dir / "gateway.db", data_dir / "gateway.db-wal")
        if path.exists()
    )


def new_sealer(origin: str = "test key") -> Sealer:
    return Sealer(secrets.token_bytes(32), origin)


def test_seal_round_trip_bound_to_purpose_and_owner():
    sealer = new_sealer()
    sealed = sealer.seal("totp", "alice", SECRET)
    assert sealed.startswith("sealed:v1:") and SECRET not in sealed
    assert sealer.seal("totp", "alice", SECRET) != sealed  # a fresh nonce each time
    assert sealer.unseal("totp", "alice", sealed) == SECRET
    for purpose, owner in (("totp", "bob"), ("source", "alice")):
        with pytest.raises(SealError, match="does not open with test key"):
            sealer.unseal(purpose, owner, sealed)
    with pytest.raises(SealError, match="does not open"):
        new_sealer().unseal("totp", "alice", sealed)
    with pytest.raises(SealError, match="damaged"):
        sealer.unseal("totp", "alice", sealed[:-8])
    with pytest.raises(SealError, match="not a sealed value"):
        sealer.unseal("totp", "alice", SECRET)


def test_keys_are_read_as_base64_or_hex_and_never_shown():
    key = secrets.token_bytes(32)
    for text in (
        base64.b64encode(key).decode() + "\n",
        base64.urlsafe_b64encode(key).decode(),
        key.hex(),
        " " + key.hex().upper() + "\n",
    ):
        assert parse_key(text, "GATEWAY_SECRETS__SEAL_KEY") == key
    for bad in ("", "short", base64.b64encode(key[:31]).decode(), key.hex()[:-2] + "zz", "ü" * 44):
        with pytest.raises(SealError, match="GATEWAY_SECRETS__SEAL_KEY: not a seal key") as info:
            parse_key(bad, "GATEWAY_SECRETS__SEAL_KEY")
        assert not bad or bad not in str(info.value)
    sealer = Sealer(key, "secrets.seal_key")
    assert key.hex() not in repr(sealer) and base64.b64encode(key).decode() not in repr(sealer)
    with pytest.raises(SealError, match="32 bytes, not 16"):
        Sealer(key[:16])


def test_the_default_key_file_is_made_once_0600_and_shared_by_racing_processes(tmp_path):
    path = default_key_path(tmp_path / "data")
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(load_or_create_key_file(path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["seal.key"]  # no temp file left
    assert read_key_file(path) == keys[0] == load_or_create_key_file(path)
    with pytest.raises(SealError, match="does not exist"):
        read_key_file(tmp_path / "nowhere.key")


def test_a_copy_of_gateway_db_alone_does_not_contain_the_totp_secret(tmp_path):
    data = tmp_path / "data"
    store = open_store(data, kdf=FAST_KDF, sealer=new_sealer())
    code_hash = CODE_HASH
    try:
        store.admins.create("alice")
        store.admins.set_totp("alice", SECRET, [code_hash])
        assert code_hash.encode() not in index_bytes(data)  # nothing to guess codes against
        store.admins.set_totp("alice", SECRET, [])  # a recovery code used: sealed again
        assert store.admins.totp("alice") == (SECRET, [])
        assert store.admins.get("alice").totp_enabled
        held = index_bytes(data)
        assert (data / "gateway.db-wal").exists()  # the WAL is looked at, too
        assert SECRET.encode() not in held
        assert base64.b32decode(SECRET) not in held
    finally:
        store.close()


def _old_version_index(data, secret: str, code_hash: str) -> None:
    """An index as an older version left it: the TOTP secret in plaintext, the recovery
    codes as bare SHA-256 hashes."""
    store = open_store(data, kdf=FAST_KDF)
    store.admins.create("alice")
    store.admins.create("bob")
    store.close()
    conn = sqlite3.connect(data / "gateway.db")
    conn.execute(
        "UPDATE admins SET totp_secret=?, recovery_codes=? WHERE name='alice'",
        (secret, json.dumps([code_hash])),
    )
    conn.commit()
    conn.close()
    assert secret.encode() in index_bytes(data) and code_hash.encode() in index_bytes(data)


def test_plaintext_secrets_of_an_older_version_are_sealed_on_first_open(tmp_path):
    """Also the recovery codes' bare SHA-256 hashes (12 characters of a 30-letter
    alphabet, ~59 bits: within reach of offline guessing), keyed from then on."""
    data = tmp_path / "data"
    code_hash = CODE_HASH
    _old_version_index(data, SECRET, code_hash)
    sealer = new_sealer()
    for _ in range(2):  # idempotent: the second open finds nothing to seal
        store = open_store(data, kdf=FAST_KDF, sealer=sealer)
        try:
            keyed = store.sealing.recovery_code_digest("alice", code_hash)
            assert store.admins.totp("alice") == (SECRET, [keyed])  # the code still works
            assert store.admins.totp("bob") == (None, [])
            assert SECRET.encode() not in index_bytes(data)
            assert code_hash.encode() not in index_bytes(data)
        finally:
            store.close()
    conn = sqlite3.connect(data / "gateway.db")
    stored = conn.execute("SELECT totp_secret FROM admins WHERE name='alice'").fetchone()[0]
    conn.close()
    assert stored.startswith("sealed:v1:")


def test_without_a_sealer_everything_but_totp_secrets_works(tmp_path):
    store = open_store(tmp_path / "data", kdf=FAST_KDF)
    try:
        store.domains.add("example.test")
        store.admins.create("alice", password="a password")
        assert store.admins.verify_password("alice", "a password") is not None
        store.audit.record("cli", "admin.create", "alice")
        with pytest.raises(SealError, match="sealed with the gateway's seal key, and none"):
            store.admins.set_totp("alice", SECRET, [])
        assert not store.admins.get("alice").totp_enabled  # nothing half-written
        store.admins.set_totp("alice", None, [])  # turning it off needs no key
        assert store.admins.totp("alice") == (None, [])
        assert "secrets.seal_key" in store.sealing.problem()
    finally:
        store.close()


def test_a_wrong_key_is_a_clear_error_and_loses_nothing(tmp_path):
    data = tmp_path / "data"
    right = new_sealer("the right key")
    store = open_store(data, kdf=FAST_KDF, sealer=right)
    store.admins.create("alice")
    store.admins.set_totp("alice", SECRET, ["h1"])
    store.close()

    wrong = open_store(data, kdf=FAST_KDF, sealer=new_sealer("secrets.seal_key_file /k"))
    try:
        assert "secrets.seal_key_file /k is not the seal key" in wrong.sealing.problem()
        with pytest.raises(SealError, match="is not the seal key this index's TOTP secrets"):
            wrong.admins.totp("alice")
        with pytest.raises(SealError, match="gateway admin disable-totp NAME"):
            wrong.admins.set_totp("alice", "NEWSECRETNEWSECR", [])  # never two keys in one index
        assert wrong.admins.get("alice").totp_enabled
        assert wrong.admins.count() == 1  # everything else works
    finally:
        wrong.close()

    again = open_store(data, kdf=FAST_KDF, sealer=right)
    try:
        assert again.sealing.problem() is None
        assert again.admins.totp("alice") == (
            SECRET,
            [again.sealing.recovery_code_digest("alice", "h1")],
        )
    finally:
        again.close()


def test_a_new_key_is_adopted_once_nothing_is_sealed_under_the_old_one(tmp_path):
    data = tmp_path / "data"
    store = open_store(data, kdf=FAST_KDF, sealer=new_sealer())
    store.admins.create("alice")
    store.admins.set_totp("alice", SECRET, [])
    store.close()
    lost = open_store(data, kdf=FAST_KDF, sealer=new_sealer())
    assert lost.sealing.problem() is not None
    lost.admins.set_totp("alice", None, [])  # `gateway admin disable-totp alice`
    lost.close()
    replacement = new_sealer()
    store = open_store(data, kdf=FAST_KDF, sealer=replacement)
    try:
        assert store.sealing.problem() is None
        store.admins.set_totp("alice", "NEWSECRETNEWSECR", [])
        assert store.admins.totp("alice")[0] == "NEWSECRETNEWSECR"
    finally:
        store.close()


def test_a_sealed_secret_moved_to_another_admin_does_not_open(tmp_path):
    store = open_store(tmp_path / "data", kdf=FAST_KDF, sealer=new_sealer())
    try:
        store.admins.create("alice")
        store.admins.create("mallory")
        store.admins.set_totp("alice", SECRET, [])
        with store.db.write() as conn:
            conn.execute(
                "UPDATE admins SET totp_secret=(SELECT totp_secret FROM admins WHERE name='alice')"
                " WHERE name='mallory'"
            )
        with pytest.raises(SealError, match="sealed totp secret of mallory does not open"):
            store.admins.totp("mallory")
        assert store.admins.totp("alice")[0] == SECRET
    finally:
        store.close()
