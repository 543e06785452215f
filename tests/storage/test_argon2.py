"""Argon2id as the key-encryption-key derivation: RFC 9106 vectors and the real parameters.

argon2-cffi's `hash_secret_raw` cannot pass Argon2's optional secret and associated
data, which the RFC 9106 §5 vectors use, so the vectors go through the library's
`argon2_ctx` binding (`argon2.low_level.core`) with a full context. That is the same C
implementation `storage.keys.KdfParams.derive` calls; the last tests tie the two paths
together.
"""

from __future__ import annotations

import pytest
from argon2.low_level import ARGON2_VERSION, Type, core, error_to_str, ffi, lib

from storage import KdfParams, WrongPassphrase, open_store

# RFC 9106 §5.1-5.3: password 32 x 0x01, salt 16 x 0x02, secret 8 x 0x03,
# associated data 12 x 0x04, memory 32 KiB, 3 passes, 4 lanes, tag 32 bytes, v0x13.
RFC9106_TAGS = {
    Type.D: "512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb",
    Type.I: "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8",
    Type.ID: "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
}


def argon2_ctx(
    type_: Type,
    password: bytes,
    salt: bytes,
    *,
    secret: bytes = b"",
    ad: bytes = b"",
    memory_kib: int,
    iterations: int,
    lanes: int,
    length: int = 32,
) -> bytes:
    """Run the reference argon2_ctx with every input the RFC defines."""
    out = ffi.new("uint8_t[]", length)
    buffers = {
        name: ffi.new("uint8_t[]", value)
        for name, value in (("pwd", password), ("salt", salt), ("secret", secret), ("ad", ad))
    }
    context = ffi.new(
        "argon2_context *",
        {
            "out": out,
            "outlen": length,
            "pwd": buffers["pwd"],
            "pwdlen": len(password),
            "salt": buffers["salt"],
            "saltlen": len(salt),
            "secret": buffers["secret"] if secret else ffi.NULL,
            "secretlen": len(secret),
            "ad": buffers["ad"] if ad else ffi.NULL,
            "adlen": len(ad),
            "t_cost": iterations,
            "m_cost": memory_kib,
            "lanes": lanes,
            "threads": lanes,
            "version": ARGON2_VERSION,
            "allocate_cbk": ffi.NULL,
            "free_cbk": ffi.NULL,
            "flags": lib.ARGON2_DEFAULT_FLAGS,
        },
    )
    rc = core(context, type_.value)
    assert rc == lib.ARGON2_OK, error_to_str(rc)
    return bytes(ffi.buffer(out, length))


def rfc9106_tag(type_: Type) -> str:
    return argon2_ctx(
        type_,
        b"\x01" * 32,
        b"\x02" * 16,
        secret=b"\x03" * 8,
        ad=b"\x04" * 12,
        memory_kib=32,
        iterations=3,
        lanes=4,
    ).hex()


def test_rfc9106_argon2id_vector() -> None:
    assert ARGON2_VERSION == 0x13
    assert rfc9106_tag(Type.ID) == RFC9106_TAGS[Type.ID]


@pytest.mark.parametrize("type_", [Type.D, Type.I], ids=["argon2d", "argon2i"])
def test_rfc9106_other_variants(type_: Type) -> None:
    assert rfc9106_tag(type_) == RFC9106_TAGS[type_]


def test_secret_and_associated_data_change_the_tag() -> None:
    """Proves the context fields are really used (the vector is not met by accident)."""
    params = {"memory_kib": 32, "iterations": 3, "lanes": 4}
    with_both = argon2_ctx(
        Type.ID, b"\x01" * 32, b"\x02" * 16, secret=b"\x03" * 8, ad=b"\x04" * 12, **params
    )
    no_secret = argon2_ctx(Type.ID, b"\x01" * 32, b"\x02" * 16, ad=b"\x04" * 12, **params)
    no_ad = argon2_ctx(Type.ID, b"\x01" * 32, b"\x02" * 16, secret=b"\x03" * 8, **params)
    assert len({with_both, no_secret, no_ad}) == 3


def test_kdf_defaults_are_the_design_parameters() -> None:
    assert KdfParams() == KdfParams(memory_kib=64 * 1024, iterations=3, lanes=4)


def test_kdf_derive_is_argon2id_of_the_reference_implementation() -> None:
    password, salt = b"7KQ2MABCDE0123456789FGHJKMNPQR", bytes(range(16))
    small = KdfParams(memory_kib=256, iterations=2, lanes=2)
    assert small.derive(password, salt) == argon2_ctx(
        Type.ID, password, salt, memory_kib=256, iterations=2, lanes=2
    )


def test_kdf_derive_with_real_parameters() -> None:
    password, salt = b"7KQ2MABCDE0123456789FGHJKMNPQR", b"\xa5" * 16
    kek = KdfParams().derive(password, salt)
    assert len(kek) == 32
    assert kek == argon2_ctx(Type.ID, password, salt, memory_kib=65536, iterations=3, lanes=4)
    assert kek != KdfParams().derive(password, b"\xa6" * 16)


def test_epoch_sealed_with_real_parameters_unlocks(tmp_path) -> None:
    data = tmp_path / "data"
    store = open_store(data)  # default KdfParams: 64 MiB, 3 passes, 4 lanes
    try:
        store.domains.add("example.test")
        mailbox, passphrase = store.mailboxes.create("example.test", actor=None)
        sealed = store.keys.current_epoch(mailbox.id)
        assert sealed.kdf == KdfParams()
        assert len(sealed.salt) == 16
        assert store.keys.unlock(mailbox.id, passphrase).can_read(1)
        with pytest.raises(WrongPassphrase):
            store.keys.unlock(mailbox.id, "00000-00000-00000-00000-00000-00000")
    finally:
        store.close()
    # Parameters are stored beside the seed: a store configured with other (lighter)
    # parameters still opens the epoch, and seals new epochs with its own.
    light = KdfParams(memory_kib=8192, iterations=1, lanes=1)
    store = open_store(data, kdf=light)
    try:
        assert store.keys.unlock(mailbox.id, passphrase).can_read(1)
        new_passphrase = store.keys.change_passphrase(mailbox.id, passphrase)
        assert store.keys.current_epoch(mailbox.id).kdf == light
        assert store.keys.unlock(mailbox.id, new_passphrase).can_read(1)
    finally:
        store.close()
