"""Round trips: our writer to our reader, alone and through the store, at every edge size.

Plaintext and ciphertext are fed in one-byte and in random-sized pieces; the reader must
hold back the final chunk until the input ends (it cannot know it is final before).
"""

from __future__ import annotations

import hashlib
import os
import random

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import open_store
from storage.age import (
    AgeReader,
    AgeWriter,
    HeaderError,
    HybridIdentity,
    NoMatchError,
    PayloadError,
    X25519Identity,
)
from storage.age.stream import (
    CHUNK_SIZE,
    StreamDecryptor,
    StreamEncryptor,
    encrypted_size,
    payload_key,
)
from storage.message_file import OUT_CHUNK
from tests.support.argon import FAST_KDF

from .helpers import SPECIAL_SIZES, pattern, pieces

IDENTITY_TYPES = {"x25519": X25519Identity, "mlkem768x25519": HybridIdentity}


def new_identity(kind: str):
    return IDENTITY_TYPES[kind](os.urandom(32))


def encrypt(plaintext: bytes, recipient, mode, rng=None) -> tuple[bytes, int]:
    """The file, and the length of its header (nonce excluded)."""
    writer = AgeWriter([recipient])
    header = writer.header()
    out = bytearray(header)
    for piece in pieces(plaintext, mode, rng):
        out += writer.update(piece)
    out += writer.finish()
    return bytes(out), len(header) - 16


def decrypt(ciphertext: bytes, identity, mode, rng=None) -> tuple[bytes, bytes]:
    """(plaintext released before finish(), plaintext released by finish())."""
    reader = AgeReader([identity])
    early = bytearray()
    for piece in pieces(ciphertext, mode, rng):
        early += reader.update(piece)
    return bytes(early), reader.finish()


def chunks_of(size: int) -> int:
    return max(1, -(-size // CHUNK_SIZE))


def check_roundtrip(plaintext: bytes, kind: str, write_mode, read_mode, rng=None) -> None:
    identity = new_identity(kind)
    ciphertext, header_len = encrypt(plaintext, identity.recipient(), write_mode, rng)
    assert len(ciphertext) == header_len + encrypted_size(len(plaintext))
    early, final = decrypt(ciphertext, identity, read_mode, rng)
    assert early + final == plaintext
    # Only chunks known not to be last come out before the end of input.
    assert early == plaintext[: (chunks_of(len(plaintext)) - 1) * CHUNK_SIZE]


def test_special_sizes_are_the_chunk_edges() -> None:
    assert SPECIAL_SIZES == (0, 1, 65535, 65536, 65537, 131072, 131073)


@pytest.mark.parametrize("kind", IDENTITY_TYPES)
@pytest.mark.parametrize("size", SPECIAL_SIZES)
@pytest.mark.parametrize("mode", ["bytes", "random", "whole"])
def test_roundtrip_edge_sizes(size: int, kind: str, mode: str) -> None:
    plaintext = pattern(size, b"edge")
    check_roundtrip(plaintext, kind, mode, mode, random.Random(size))


@pytest.mark.parametrize("kind", IDENTITY_TYPES)
@settings(max_examples=60, deadline=None)
@given(
    size=st.one_of(
        st.integers(0, 300),
        st.sampled_from(SPECIAL_SIZES),
        st.integers(0, 3 * CHUNK_SIZE + 40),
    ),
    seed=st.binary(max_size=8),
    rng_seed=st.integers(0, 2**32),
    write_mode=st.sampled_from(["random", "whole", 1, 17, CHUNK_SIZE, CHUNK_SIZE + 1]),
    read_mode=st.sampled_from(["random", "whole", 1, 16, CHUNK_SIZE + 16, CHUNK_SIZE + 17]),
)
def test_roundtrip_property(kind, size, seed, rng_seed, write_mode, read_mode) -> None:
    if 1 in (write_mode, read_mode) and size > 2 * CHUNK_SIZE + 1:
        write_mode = read_mode = "random"  # keep one-byte feeding to the edge tests' sizes
    check_roundtrip(pattern(size, seed), kind, write_mode, read_mode, random.Random(rng_seed))


@given(plaintext=st.binary(max_size=2000))
@settings(max_examples=60, deadline=None)
def test_roundtrip_arbitrary_bytes(plaintext: bytes) -> None:
    check_roundtrip(plaintext, "x25519", "random", "random", random.Random(len(plaintext)))


@pytest.mark.parametrize("kind", IDENTITY_TYPES)
def test_wrong_identity_finds_no_match(kind: str) -> None:
    ciphertext, _ = encrypt(b"hello", new_identity(kind).recipient(), "whole")
    reader = AgeReader([new_identity("x25519"), new_identity("mlkem768x25519")])
    with pytest.raises(NoMatchError):
        reader.update(ciphertext)


def test_several_recipients_each_can_read() -> None:
    alice, bob = new_identity("x25519"), new_identity("mlkem768x25519")
    writer = AgeWriter([alice.recipient(), bob.recipient()])
    ciphertext = writer.header() + writer.update(b"for both") + writer.finish()
    for identity in (alice, bob):
        early, final = decrypt(ciphertext, identity, "bytes")
        assert early + final == b"for both"


def test_nothing_is_accepted_after_the_end() -> None:
    identity = new_identity("x25519")
    ciphertext, _ = encrypt(b"complete", identity.recipient(), "whole")
    reader = AgeReader([identity])
    assert reader.update(ciphertext) + reader.finish() == b"complete"
    assert reader.update(b"") == b""
    with pytest.raises(PayloadError):
        reader.update(b"more")


def test_input_ending_in_the_header_is_refused() -> None:
    identity = new_identity("x25519")
    ciphertext, header_len = encrypt(b"x", identity.recipient(), "whole")
    reader = AgeReader([identity])
    assert reader.update(ciphertext[: header_len - 1]) == b""
    with pytest.raises(HeaderError):
        reader.finish()


# --- through the store -------------------------------------------------------------


@pytest.fixture(params=[True, False], ids=["zstd", "raw"])
def compress(request) -> bool:
    return request.param


@pytest.fixture(params=list(IDENTITY_TYPES))
def typed_store(request, tmp_path, compress):
    store = open_store(
        tmp_path / "data", kdf=FAST_KDF, recipient_type=request.param, compress=compress
    )
    store.domains.add("example.test")
    yield store
    store.close()


def store_roundtrip(store, mailbox_id: str, key, plaintext: bytes, mode, rng=None):
    delivery = store.messages.begin_delivery(mailbox_id)
    for piece in pieces(plaintext, mode, rng):
        delivery.write(piece)
    (info,) = store.messages.commit_deliveries([delivery])
    listed = store.messages.get(mailbox_id, info.id)
    assert listed == info
    assert info.size == len(plaintext)
    assert info.encoding == ("zstd" if store.compress else "raw")
    stored = (store.data_dir / info.path).read_bytes()
    assert info.stored_size == len(stored)
    assert info.sha256 == hashlib.sha256(stored).hexdigest()
    chunks = list(store.messages.read(key, info))
    assert all(0 < len(c) <= OUT_CHUNK for c in chunks)
    assert b"".join(chunks) == plaintext
    return info


@pytest.mark.parametrize("size", SPECIAL_SIZES)
@pytest.mark.parametrize("mode", ["bytes", "random"])
def test_store_roundtrip_edge_sizes(typed_store, size: int, mode: str) -> None:
    mailbox, passphrase = typed_store.mailboxes.create("example.test", actor=None)
    key = typed_store.keys.unlock(mailbox.id, passphrase)
    assert key.kinds[1] == typed_store.recipient_type
    plaintext = pattern(size, b"store")
    info = store_roundtrip(typed_store, mailbox.id, key, plaintext, mode, random.Random(size))
    box = typed_store.mailboxes.get(mailbox.id)
    assert (box.messages, box.bytes) == (1, info.stored_size)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plaintext=st.one_of(
        st.binary(max_size=3000),
        st.builds(pattern, st.integers(0, 3 * CHUNK_SIZE), st.binary(max_size=4)),
        st.builds(
            lambda n, b: b * n, st.integers(0, 3 * CHUNK_SIZE), st.binary(min_size=1, max_size=3)
        ),
    ),
    rng_seed=st.integers(0, 2**32),
)
def test_store_roundtrip_property(store, domain, plaintext: bytes, rng_seed: int) -> None:
    mailbox, passphrase = store.mailboxes.create(domain, actor=None)
    key = store.keys.unlock(mailbox.id, passphrase)
    store_roundtrip(store, mailbox.id, key, plaintext, "random", random.Random(rng_seed))


def _reference_payload(file_key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    """The age STREAM payload built the obvious way, one whole chunk at a time."""
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    count = chunks_of(len(plaintext))
    sealed = [
        aead.encrypt(
            i.to_bytes(11, "big") + (b"\x01" if i == count - 1 else b"\x00"),
            plaintext[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE],
            None,
        )
        for i in range(count)
    ]
    return nonce + b"".join(sealed)


@settings(max_examples=40, deadline=None)
@given(
    size=st.one_of(st.sampled_from(SPECIAL_SIZES), st.integers(0, 3 * CHUNK_SIZE + 40)),
    rng_seed=st.integers(0, 2**32),
    kind=st.sampled_from(["bytes", "bytearray", "memoryview"]),
)
def test_encryptor_output_is_the_reference_stream_for_any_buffer(size, rng_seed, kind) -> None:
    """Sealing in place must not change a byte of the format, whatever the caller passes,
    and a caller reusing its buffer after update() must not change what was sealed."""
    plaintext = pattern(size, b"ref")
    file_key = os.urandom(16)
    encryptor = StreamEncryptor(file_key)
    out = bytearray(encryptor.start())
    for piece in pieces(plaintext, "random", random.Random(rng_seed)):
        buffer = {"bytes": bytes, "bytearray": bytearray, "memoryview": memoryview}[kind](piece)
        out += encryptor.update(buffer)
        if isinstance(buffer, bytearray):
            buffer[:] = b"\xff" * len(buffer)  # the caller reuses its buffer
    out += encryptor.finish()
    assert bytes(out) == _reference_payload(file_key, bytes(out[:16]), plaintext)
    decryptor = StreamDecryptor(file_key)
    assert bytes(decryptor.update(memoryview(out))) + decryptor.finish() == plaintext
