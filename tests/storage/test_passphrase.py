"""Passphrases (DESIGN §2): generation, forgiving normalization, and the sealed seed."""

from __future__ import annotations

import os
import re
from dataclasses import replace

import pytest

from storage import WrongPassphrase, keys
from storage import passphrase as passphrases
from storage.ids import CROCKFORD

SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){5}$")


def test_generated_shape_and_alphabet() -> None:
    for _ in range(200):
        text = passphrases.generate()
        assert SHAPE.match(text), text
        assert passphrases.normalize(text) == text.replace("-", "").encode()


def test_generated_are_random() -> None:
    seen = {passphrases.generate() for _ in range(500)}
    assert len(seen) == 500
    # 150 bits: every one of the 32 symbols turns up across a few hundred passphrases.
    assert set("".join(seen).replace("-", "")) == set(CROCKFORD)


@pytest.mark.parametrize(
    "typed",
    [
        "7KQ2M-ABCDE-01234-56789-FGHJK-MNPQR",
        "7kq2m-abcde-01234-56789-fghjk-mnpqr",
        "7KQ2MABCDE0123456789FGHJKMNPQR",
        "7KQ2M ABCDE 01234 56789 FGHJK MNPQR",
        "  7KQ2M-ABCDE -0123 4-56789-FGHJK-MNPQR\n",
        "7KQ2M\tABCDE-O1234-56789-FGHJK-MNPQR",
        "7KQ2M-ABCDE-0I234-56789-FGHJK-MNPQR",
        "7KQ2M-ABCDE-0L234-56789-FGHJK-MNPQR",
        "7kq2m-abcde-oi234-56789-fghjk-mnpqr",
        "7kq2m-abcde-ol234-56789-fghjk-mnpqr",
        "7KQ2M--ABCDE--01234--56789--FGHJK--MNPQR",
    ],
)
def test_normalization_forgives_case_separators_and_lookalikes(typed: str) -> None:
    assert passphrases.normalize(typed) == b"7KQ2MABCDE0123456789FGHJKMNPQR"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "7KQ2M-ABCDE-01234-56789-FGHJK",  # 25 characters
        "7KQ2M-ABCDE-01234-56789-FGHJK-MNPQRS",  # 31
        "7KQ2M-ABCDE-01234-56789-FGHJK-MNPQU",  # U is not Crockford base32
        "7KQ2M-ABCDE-01234-56789-FGHJK-MNPQ!",
        "7KQ2M_ABCDE_01234_56789_FGHJK_MNPQR",
        "7KQ2M-ABCDE-01234-56789-FGHJK-MNPQÉ",
        "correct horse battery staple",
    ],
)
def test_wrong_shape_is_refused_without_echo(typed: str) -> None:
    with pytest.raises(passphrases.InvalidPassphrase) as info:
        passphrases.normalize(typed)
    if typed:
        assert typed not in str(info.value)
    assert not passphrases.looks_valid(typed)


def lookalike_variants(passphrase: str) -> list[str]:
    bare = passphrase.replace("-", "")
    return [
        passphrase.lower(),
        bare,
        " ".join(bare[i : i + 5] for i in range(0, 30, 5)),
        passphrase.replace("0", "O").replace("1", "I"),
        passphrase.replace("0", "o").replace("1", "l"),
        passphrase.lower().replace("1", "L"),
    ]


def test_store_unlock_accepts_every_spelling(store, domain) -> None:
    mailbox, passphrase = store.mailboxes.create(domain, actor=None)
    # A lookalike test needs a passphrase that has a 0 and a 1 in it.
    while not ("0" in passphrase and "1" in passphrase):
        passphrase = store.keys.reset_passphrase(mailbox.id)
    newest = store.keys.current_epoch(mailbox.id).epoch
    for typed in lookalike_variants(passphrase):
        assert store.keys.unlock(mailbox.id, typed).can_read(newest), typed


def test_store_unlock_refuses_wrong_and_malformed(store, mailbox) -> None:
    box, passphrase = mailbox
    other = passphrases.generate()
    assert other != passphrase
    for typed in (other, passphrase[:-1], passphrase + "X", "", "not a passphrase at all"):
        with pytest.raises(WrongPassphrase) as info:
            store.keys.unlock(box.id, typed)
        assert str(info.value) == "wrong passphrase"
    # A near miss (one symbol changed) is a wrong passphrase, not a typo forgiven.
    last = passphrase[-1]
    near = passphrase[:-1] + ("2" if last != "2" else "3")
    with pytest.raises(WrongPassphrase):
        store.keys.unlock(box.id, near)


def sealed_example(kind: str = "x25519") -> tuple[keys.SealedSeed, bytes, bytes]:
    kdf = keys.KdfParams(memory_kib=64, iterations=1, lanes=1)
    seed, recipient = keys.new_seed(kind)
    salt = keys.new_salt()
    kek = kdf.derive(b"7KQ2MABCDE0123456789FGHJKMNPQR", salt)
    return keys.seal("mbx-a", 1, kind, recipient, seed, kek, salt, kdf), seed, kek


@pytest.mark.parametrize("kind", keys.RECIPIENT_TYPES)
def test_seal_unseal_roundtrip(kind: str) -> None:
    sealed, seed, kek = sealed_example(kind)
    assert sealed.ciphertext != seed and seed not in sealed.ciphertext
    assert keys.unseal(sealed, kek) == seed
    assert keys.unseal(sealed, os.urandom(32)) is None


def test_sealed_seed_is_bound_to_mailbox_epoch_and_recipient() -> None:
    sealed, seed, kek = sealed_example()
    other_recipient = keys.new_seed("x25519")[1]
    for moved in (
        replace(sealed, mailbox_id="mbx-b"),
        replace(sealed, epoch=2),
        replace(sealed, recipient=other_recipient),
        replace(sealed, ciphertext=sealed.ciphertext[:-1] + bytes([sealed.ciphertext[-1] ^ 1])),
        replace(sealed, nonce=os.urandom(12)),
    ):
        assert keys.unseal(moved, kek) is None


def test_unseal_recomputes_the_recipient() -> None:
    """A seed that authenticates but does not match the stored recipient is refused."""
    kdf = keys.KdfParams(memory_kib=64, iterations=1, lanes=1)
    seed, _ = keys.new_seed("x25519")
    _, wrong_recipient = keys.new_seed("x25519")
    salt = keys.new_salt()
    kek = kdf.derive(b"7KQ2MABCDE0123456789FGHJKMNPQR", salt)
    sealed = keys.seal("mbx-a", 1, "x25519", wrong_recipient, seed, kek, salt, kdf)
    assert keys.unseal(sealed, kek) is None
