"""Interoperability with an independent age implementation: pyrage (Rust `rage`).

pyrage 1.4 knows X25519, scrypt (passphrase), SSH and plugin recipients, and the
hardware-tag recipients (`tag`/`tagpq`, encrypt only). It does not know age's
mlkem768x25519 hybrid, the gateway's default: the last tests pin that down, so the day
pyrage learns it they fail and hybrid interop tests can be added.
"""

from __future__ import annotations

import os
import random

import pyrage
import pytest
import zstandard

from storage import open_store
from storage.age import (
    AgeReader,
    HybridIdentity,
    ScryptIdentity,
    X25519Identity,
    decrypt_bytes,
    encrypt_bytes,
    parse_identity,
)
from storage.age.armor import dearmor
from storage.bind import BIND_TYPE
from tests.support.argon import FAST_KDF

from .helpers import SPECIAL_SIZES, deliver, message_text, pattern, pieces


def identity_lines(exported: str) -> list[str]:
    return [line for line in exported.splitlines() if line and not line.startswith("#")]


# --- bare age files --------------------------------------------------------------


@pytest.mark.parametrize("size", SPECIAL_SIZES)
def test_our_x25519_files_decrypt_with_pyrage(size: int) -> None:
    ours = X25519Identity(os.urandom(32))
    theirs = pyrage.x25519.Identity.from_str(ours.encode())
    assert str(theirs.to_public()) == ours.recipient().encode()
    plaintext = pattern(size, b"to-rage")
    assert pyrage.decrypt(encrypt_bytes(plaintext, [ours.recipient()]), [theirs]) == plaintext


@pytest.mark.parametrize("size", SPECIAL_SIZES)
@pytest.mark.parametrize("armored", [False, True], ids=["binary", "armored"])
def test_pyrage_x25519_files_decrypt_with_ours(size: int, armored: bool) -> None:
    theirs = pyrage.x25519.Identity.generate()
    ours = parse_identity(str(theirs))
    assert ours.recipient().encode() == str(theirs.to_public())
    plaintext = pattern(size, b"from-rage")
    ciphertext = pyrage.encrypt(plaintext, [theirs.to_public()], armored=armored)
    if armored:
        ciphertext = dearmor(ciphertext)
    reader = AgeReader([ours])
    out = bytearray()
    for piece in pieces(ciphertext, "random", random.Random(size)):
        out += reader.update(piece)
    out += reader.finish()
    assert out == plaintext


def test_pyrage_file_for_several_recipients() -> None:
    ours = X25519Identity(os.urandom(32))
    other = pyrage.x25519.Identity.generate()
    recipients = [other.to_public(), pyrage.x25519.Recipient.from_str(ours.recipient().encode())]
    ciphertext = pyrage.encrypt(b"two readers", recipients)
    assert decrypt_bytes(ciphertext, [ours]) == b"two readers"


@pytest.mark.slow
def test_pyrage_passphrase_files_decrypt_with_ours() -> None:
    ciphertext = pyrage.passphrase.encrypt(b"under a passphrase", "correct horse battery")
    assert decrypt_bytes(ciphertext, [ScryptIdentity(b"correct horse battery")]) == (
        b"under a passphrase"
    )


# --- stored messages -------------------------------------------------------------


@pytest.fixture(params=[True, False], ids=["zstd", "raw"])
def x25519_store(request, tmp_path):
    store = open_store(
        tmp_path / "data", kdf=FAST_KDF, recipient_type="x25519", compress=request.param
    )
    store.domains.add("example.test")
    yield store
    store.close()


def pyrage_read_stored(store, info, exported: str) -> bytes:
    """What a stock age tool recovers from a stored file, given the exported identity."""
    identities = [pyrage.x25519.Identity.from_str(line) for line in identity_lines(exported)]
    plaintext = pyrage.decrypt((store.data_dir / info.path).read_bytes(), identities)
    if info.encoding == "zstd":
        plaintext = zstandard.ZstdDecompressor().decompressobj().decompress(plaintext)
    return plaintext


@pytest.mark.parametrize("size", [0, 1, 70000, 200001])
def test_stored_messages_decrypt_with_pyrage(x25519_store, size: int) -> None:
    mailbox, passphrase = x25519_store.mailboxes.create("example.test", actor=None)
    body = message_text("Interop", "sender@example.org", "") + pattern(size, b"stored")
    info = deliver(x25519_store, mailbox.id, body, "random")
    raw = (x25519_store.data_dir / info.path).read_bytes()
    header = raw[: raw.index(b"\n---") + 1]
    # pyrage has to skip the gateway's own stanza: prove it is there.
    bind_line = f"-> {BIND_TYPE} {mailbox.id} {info.id} 1 {info.encoding}\n".encode()
    assert bind_line in header
    exported = x25519_store.keys.export_identity(mailbox.id, passphrase)
    assert pyrage_read_stored(x25519_store, info, exported) == body


def test_all_epochs_exported_decrypt_with_pyrage(x25519_store) -> None:
    store = x25519_store
    mailbox, first = store.mailboxes.create("example.test", actor=None)
    old = deliver(store, mailbox.id, b"Subject: epoch one\r\n\r\nold mail\r\n")
    second = store.keys.reset_passphrase(mailbox.id)
    new = deliver(store, mailbox.id, b"Subject: epoch two\r\n\r\nnew mail\r\n")
    assert (old.epoch, new.epoch) == (1, 2)
    # Before recovery only the new epoch is exported: pyrage reads new mail, not old.
    exported = store.keys.export_identity(mailbox.id, second)
    assert len(identity_lines(exported)) == 1
    assert pyrage_read_stored(store, new, exported).endswith(b"new mail\r\n")
    with pytest.raises(pyrage.DecryptError):
        pyrage_read_stored(store, old, exported)
    store.keys.recover(mailbox.id, first, second)
    exported = store.keys.export_identity(mailbox.id, second)
    assert len(identity_lines(exported)) == 2
    assert pyrage_read_stored(store, old, exported).endswith(b"old mail\r\n")
    assert pyrage_read_stored(store, new, exported).endswith(b"new mail\r\n")


def test_pyrage_file_for_a_mailbox_decrypts_with_its_exported_identity(x25519_store) -> None:
    store = x25519_store
    mailbox, passphrase = store.mailboxes.create("example.test", actor=None)
    (epoch,) = store.keys.list_epochs(mailbox.id)
    ciphertext = pyrage.encrypt(b"from rage", [pyrage.x25519.Recipient.from_str(epoch.recipient)])
    (line,) = identity_lines(store.keys.export_identity(mailbox.id, passphrase))
    assert decrypt_bytes(ciphertext, [parse_identity(line)]) == b"from rage"


# --- what pyrage does not support --------------------------------------------------


def test_pyrage_lacks_mlkem768x25519_recipients() -> None:
    hybrid = HybridIdentity(os.urandom(32))
    for module in (pyrage.x25519, pyrage.tag, pyrage.tagpq):
        with pytest.raises(pyrage.RecipientError):
            module.Recipient.from_str(hybrid.recipient().encode())
    for module in (pyrage.x25519, pyrage.plugin):
        with pytest.raises(pyrage.IdentityError):
            module.Identity.from_str(hybrid.encode())


def test_pyrage_cannot_open_hybrid_stored_messages(store, mailbox) -> None:
    box, passphrase = mailbox
    assert store.recipient_type == "mlkem768x25519"
    info = deliver(store, box.id, b"Subject: pq\r\n\r\npost-quantum\r\n")
    assert info.encoding == "zstd"
    (line,) = identity_lines(store.keys.export_identity(box.id, passphrase))
    assert line.startswith("AGE-SECRET-KEY-PQ-1")
    raw = (store.data_dir / info.path).read_bytes()
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(raw, [pyrage.x25519.Identity.generate()])
    # Our own reader, given only the exported identity text, does open it.
    assert b"post-quantum" in zstandard.ZstdDecompressor().decompressobj().decompress(
        decrypt_bytes(raw, [parse_identity(line)])
    )
