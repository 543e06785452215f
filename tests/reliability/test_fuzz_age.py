"""Hostile files at rest: the age reader and the stored-message reader, fuzzed (hypothesis).

Stored files are parsed on three paths: decryption for POP3/IMAP (AgeReader inside
open_plaintext), and the key-less header parse of start-up reconciliation and fsck
(read_file_binding). Whatever the bytes (random, or a valid file mutated by flips,
insertions, deletions, truncation, duplicated slices, replaced header lines, appended
garbage, fed in random pieces), each path fails only with its documented error, never
another exception; plaintext released before a failure is always a prefix of the real
plaintext (authenticated chunks only); and a changed file never decrypts.
"""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import MessageDamaged
from storage.age import AgeError, AgeReader, AgeWriter, parse_recipient
from storage.bind import BindError, Binding
from storage.ids import new_message_id
from storage.keys import RECIPIENT_TYPES, identity_for
from storage.message_file import MessageSealer, open_plaintext, read_file_binding

pytestmark = pytest.mark.timeout(120)  # hang detection, not a speed target

EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _sample(kind: str, size: int, encoding: str) -> dict:
    identity = identity_for(kind, os.urandom(32))
    recipient = identity.recipient().encode()
    binding = Binding("mbx-" + "A" * 20, new_message_id(), 1, encoding)
    plaintext = os.urandom(size // 2).hex().encode()[:size]
    # The bare age file, as a third-party age tool would see it ...
    writer = AgeWriter([parse_recipient(recipient)], [binding.stanza()])
    age_file = writer.header() + writer.update(plaintext) + writer.finish()
    # ... and the stored message file as the gateway writes it (zstd or raw inside).
    sealer = MessageSealer(recipient, binding)
    stored = sealer.header() + sealer.update(plaintext) + sealer.finish()
    return {
        "identity": identity,
        "binding": binding,
        "plaintext": plaintext,
        "age": age_file,
        "stored": stored,
    }


SAMPLES = [
    _sample(kind, size, encoding)
    for kind in RECIPIENT_TYPES
    for size, encoding in ((0, "raw"), (300, "zstd"), (70_000, "raw"), (140_000, "zstd"))
]


MUTATIONS = ["flip", "insert", "delete", "truncate", "dup", "line", "tail"]


@st.composite
def mutated(draw, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(["flip", "insert", "delete", "truncate", "dup", "line", "tail"])
        )
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "dup":
            size = draw(st.integers(1, 300))
            data[at:at] = data[at : at + size]
        elif kind == "line":
            header_end = data.find(b"\n---")
            lines = bytes(data[: max(header_end, 0)]).split(b"\n")
            if lines:
                index = draw(st.integers(0, len(lines) - 1))
                lines[index] = draw(
                    st.sampled_from([b"", b"-> X25519", b"-> jgw-bind a b 1 raw", b"--- AAAA"])
                    | st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" "))
                )
                data[: max(header_end, 0)] = b"\n".join(lines)
        elif kind == "tail":
            data += draw(st.binary(min_size=1, max_size=100))
    return bytes(data)


def pieces(draw, data: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def read_age(data: list[bytes], identity) -> bytes:
    reader = AgeReader([identity])
    out = b""
    try:
        for piece in data:
            out += reader.update(piece)
        return out + reader.finish()
    except AgeError as exc:
        exc.so_far = out + getattr(exc, "released", b"")  # type: ignore[attr-defined]
        raise


@pytest.mark.parametrize("index", range(len(SAMPLES)))
@FUZZ
@given(data=st.data())
def test_age_reader_on_mutated_files(index: int, data) -> None:
    sample = SAMPLES[index]
    changed = data.draw(mutated(sample["age"]))
    parts = pieces(data.draw, changed)
    try:
        out = read_age(parts, sample["identity"])
    except AgeError as exc:
        assert sample["plaintext"].startswith(exc.so_far)  # type: ignore[attr-defined]
        return
    assert changed == sample["age"], "a changed age file decrypted"
    assert out == sample["plaintext"]


@FUZZ
@given(
    prefix=st.sampled_from([b"", b"age-encryption.org/v1\n", b"age-encryption.org/v1\n-> "]),
    body=st.binary(max_size=3000),
    data=st.data(),
)
def test_age_reader_on_random_bytes(prefix: bytes, body: bytes, data) -> None:
    sample = SAMPLES[data.draw(st.integers(0, len(SAMPLES) - 1))]
    with pytest.raises(AgeError):
        read_age(pieces(data.draw, prefix + body), sample["identity"])


@pytest.mark.parametrize("index", range(len(SAMPLES)))
@FUZZ
@given(data=st.data())
def test_stored_message_reader_on_mutated_files(index: int, data) -> None:
    """open_plaintext serves POP3 RETR and IMAP FETCH: MessageDamaged is its only failure."""
    sample = SAMPLES[index]
    changed = data.draw(mutated(sample["stored"]))
    out = b""
    try:
        for chunk in open_plaintext(io.BytesIO(changed), [sample["identity"]], sample["binding"]):
            out += chunk
    except MessageDamaged:
        assert sample["plaintext"].startswith(out)
        return
    assert changed == sample["stored"], "a changed stored file was served"
    assert out == sample["plaintext"]


@pytest.mark.parametrize("index", range(len(SAMPLES)))
@FUZZ
@given(data=st.data())
def test_binding_parse_on_mutated_files(index: int, data) -> None:
    """Reconciliation and fsck read the bind stanza without a key: only BindError."""
    changed = data.draw(mutated(SAMPLES[index]["stored"]) | st.binary(max_size=2000))
    try:
        binding = read_file_binding(io.BytesIO(changed))
    except BindError:
        return
    assert isinstance(binding, Binding)
