"""Every public age v1 test vector (C2SP CCTV, tests/data/age-cctv/), with its outcome.

Each vector runs through the incremental AgeReader several times, fed whole, in random
piece sizes and (for files that are not huge) one byte at a time; every run must end
the same way and release exactly the plaintext whose SHA-256 the vector names.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage.age import (
    AgeError,
    AgeReader,
    HeaderError,
    MacError,
    NoMatchError,
    PayloadError,
    ScryptIdentity,
    parse_identity,
)
from storage.age.armor import ArmorError, dearmor

from .helpers import pieces

VECTOR_DIR = Path(__file__).resolve().parents[1] / "data" / "age-cctv"
EXPECTED_VECTOR_COUNT = 143
BYTEWISE_LIMIT = 200 * 1024

OUTCOMES: dict[str, type[AgeError] | None] = {
    "success": None,
    "no match": NoMatchError,
    "HMAC failure": MacError,
    "header failure": HeaderError,
    "payload failure": PayloadError,
    "armor failure": ArmorError,
}


@dataclass
class Vector:
    name: str
    expect: str
    body: bytes
    payload: str | None = None
    armored: bool = False
    identities: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)


def load_vector(path: Path) -> Vector:
    raw = path.read_bytes()
    head, sep, body = raw.partition(b"\n\n")
    assert sep, f"{path.name}: no empty line after the vector header"
    keys: dict[str, list[str]] = {}
    for line in head.decode("utf-8").split("\n"):
        key, _, value = line.partition(": ")
        keys.setdefault(key, []).append(value)
    compressed = keys.get("compressed", [""])[0]
    if compressed == "zlib":
        body = zlib.decompress(body)
    else:
        assert not compressed, f"{path.name}: unknown compression {compressed}"
    return Vector(
        name=path.name,
        expect=keys["expect"][0],
        body=body,
        payload=keys.get("payload", [None])[0],
        armored=keys.get("armored", ["no"])[0] == "yes",
        identities=keys.get("identity", []),
        passphrases=keys.get("passphrase", []),
    )


def vector_paths() -> list[Path]:
    if not VECTOR_DIR.is_dir():
        return []
    return sorted(p for p in VECTOR_DIR.iterdir() if p.is_file() and p.name != "README.md")


def run_vector(vector: Vector, mode: str) -> tuple[type[AgeError] | None, bytes]:
    """Decrypt as a streaming consumer would: (outcome class or None, plaintext released)."""
    released = bytearray()
    try:
        body = dearmor(vector.body) if vector.armored else vector.body
        identities = [parse_identity(text) for text in vector.identities]
        identities += [ScryptIdentity(p.encode()) for p in vector.passphrases]
        reader = AgeReader(identities)
        rng = random.Random(vector.name)
        for piece in pieces(body, mode, rng):
            released += reader.update(piece)
        released += reader.finish()
    except PayloadError as exc:
        return PayloadError, bytes(released) + exc.released
    except AgeError as exc:
        return type(exc), bytes(released)
    return None, bytes(released)


def test_every_vector_is_present() -> None:
    assert len(vector_paths()) == EXPECTED_VECTOR_COUNT, f"vectors missing from {VECTOR_DIR}"


def test_every_outcome_kind_is_covered() -> None:
    kinds = {load_vector(p).expect for p in vector_paths()}
    assert kinds == set(OUTCOMES)


@pytest.mark.parametrize("path", vector_paths(), ids=lambda p: p.name)
def test_vector(path: Path) -> None:
    vector = load_vector(path)
    assert vector.expect in OUTCOMES, f"unknown expectation {vector.expect!r}"
    expected = OUTCOMES[vector.expect]
    modes = ["whole", "random"]
    if len(vector.body) <= BYTEWISE_LIMIT:
        modes.append("bytes")
    for mode in modes:
        outcome, released = run_vector(vector, mode)
        assert outcome is expected, f"fed {mode}: got {outcome}, expected {vector.expect}"
        if vector.payload is not None:
            assert hashlib.sha256(released).hexdigest() == vector.payload, f"fed {mode}"
        elif expected is not None:
            assert released == b"", f"fed {mode}: plaintext released before a {vector.expect}"
