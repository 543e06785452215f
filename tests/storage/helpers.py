"""Small helpers shared by the storage tests (no mocks: they drive the real store)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

from storage import MessageDamaged
from storage.age.stream import CHUNK_SIZE

SPECIAL_SIZES = (
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    2 * CHUNK_SIZE,
    2 * CHUNK_SIZE + 1,
)


def pieces(data: bytes, mode: str | int, rng: random.Random | None = None) -> Iterator[bytes]:
    """Split `data` as a network would: "whole", "bytes" (1 byte each), "random", or n."""
    if mode == "whole":
        yield data
        return
    if mode == "bytes":
        for i in range(len(data)):
            yield data[i : i + 1]
        return
    if isinstance(mode, int):
        for i in range(0, len(data), mode):
            yield data[i : i + mode]
        return
    assert mode == "random"
    rng = rng or random.Random(0)
    i = 0
    while i < len(data):
        n = rng.choice((1, 2, 7, 15, 16, 17, 100, 4096, 65535, 65536, 65537, 70000))
        n = rng.randint(1, n)
        yield data[i : i + n]
        i += n


def deliver(store, mailbox_id: str, data: bytes, mode: str | int = "whole"):
    """Store one message through the real delivery path; returns its MessageInfo."""
    delivery = store.messages.begin_delivery(mailbox_id)
    for piece in pieces(data, mode):
        delivery.write(piece)
    (info,) = store.messages.commit_deliveries([delivery])
    return info


def read_all(store, key, info) -> bytes:
    return b"".join(store.messages.read(key, info))


def read_until_failure(store, key, info) -> tuple[bytes, MessageDamaged | None]:
    """Everything read_message released, and the MessageDamaged that ended it (or None)."""
    released = bytearray()
    try:
        for chunk in store.messages.read(key, info):
            released += chunk
    except MessageDamaged as exc:
        return bytes(released), exc
    return bytes(released), None


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def blob_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "blobs").rglob("*.age"))


def message_text(subject: str, sender: str, body: str) -> bytes:
    return (
        f"Return-Path: <{sender}>\r\n"
        f"From: {sender}\r\n"
        "To: journal@example.test\r\n"
        f"Subject: {subject}\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


def pattern(size: int, seed: bytes = b"") -> bytes:
    """Deterministic, non-repeating-per-chunk content (a chunk swap would be visible)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])
