"""Tampered stored files are refused, and no plaintext of a damaged chunk comes out.

Every check reads through the store (`read_message`), as POP3/IMAP would, and records
what it released before MessageDamaged ended it.
"""

from __future__ import annotations

import pytest

from storage import open_store
from storage.age import AgeWriter, Stanza, parse_recipient
from storage.age.stream import CHUNK_CT_SIZE, CHUNK_SIZE, NONCE_SIZE
from storage.bind import BIND_TYPE, Binding
from tests.support.argon import FAST_KDF

from .helpers import deliver, message_text, pattern, read_all, read_until_failure


@pytest.fixture(params=["x25519", "mlkem768x25519"])
def raw_store(request, tmp_path):
    """Uncompressed, so payload chunk boundaries are plaintext chunk boundaries."""
    store = open_store(
        tmp_path / "data", kdf=FAST_KDF, recipient_type=request.param, compress=False
    )
    store.domains.add("example.test")
    yield store
    store.close()


def header_length(raw: bytes) -> int:
    return raw.index(b"\n---") + 1 + raw[raw.index(b"\n---") + 1 :].index(b"\n") + 1


def assert_refused(store, key, info, plaintext: bytes, damaged_chunk: int = 0) -> None:
    """Refused, and what came out is whole chunks from before the damaged one."""
    released, error = read_until_failure(store, key, info)
    assert error is not None, "a tampered file was read without complaint"
    assert plaintext.startswith(released)
    assert len(released) % CHUNK_SIZE == 0
    assert len(released) <= damaged_chunk * CHUNK_SIZE


class Stored:
    """One stored message and its file, which tests rewrite in place."""

    def __init__(self, store, mailbox_id: str, key, plaintext: bytes) -> None:
        self.store, self.key, self.plaintext = store, key, plaintext
        self.info = deliver(store, mailbox_id, plaintext)
        self.path = store.data_dir / self.info.path
        self.original = self.path.read_bytes()

    def refused_with(self, content: bytes, damaged_chunk: int = 0) -> None:
        self.path.write_bytes(content)
        try:
            assert_refused(self.store, self.key, self.info, self.plaintext, damaged_chunk)
        finally:
            self.path.write_bytes(self.original)


def new_mailbox(store):
    mailbox, passphrase = store.mailboxes.create("example.test", actor=None)
    return mailbox, store.keys.unlock(mailbox.id, passphrase)


@pytest.mark.parametrize(
    ("kind", "compress", "masks"),
    [("mlkem768x25519", True, (0x01,)), ("x25519", False, (0x01, 0xFF))],
    ids=["hybrid-zstd", "x25519-raw"],
)
def test_every_byte_flipped_is_refused(tmp_path, kind: str, compress: bool, masks) -> None:
    store = open_store(tmp_path / "data", kdf=FAST_KDF, recipient_type=kind, compress=compress)
    try:
        store.domains.add("example.test")
        mailbox, key = new_mailbox(store)
        plaintext = message_text("Flip me", "flip@example.org", "a small message")
        stored = Stored(store, mailbox.id, key, plaintext)
        assert read_all(store, key, stored.info) == plaintext
        original = stored.original
        for position in range(len(original)):
            for mask in masks:
                flipped = bytearray(original)
                flipped[position] ^= mask
                stored.refused_with(bytes(flipped))
        assert read_all(store, key, stored.info) == plaintext
    finally:
        store.close()


def test_flip_in_each_chunk_releases_nothing_of_it(raw_store) -> None:
    mailbox, key = new_mailbox(raw_store)
    plaintext = pattern(4 * CHUNK_SIZE + 100, b"chunks")
    stored = Stored(raw_store, mailbox.id, key, plaintext)
    payload = header_length(stored.original) + NONCE_SIZE
    for chunk in range(5):
        for offset in (0, 1000, CHUNK_CT_SIZE - 1):
            position = min(payload + chunk * CHUNK_CT_SIZE + offset, len(stored.original) - 1)
            flipped = bytearray(stored.original)
            flipped[position] ^= 0x01
            stored.refused_with(bytes(flipped), damaged_chunk=chunk)


def test_truncation_at_every_chunk_boundary(raw_store) -> None:
    mailbox, key = new_mailbox(raw_store)
    plaintext = pattern(3 * CHUNK_SIZE + 100, b"truncate")
    stored = Stored(raw_store, mailbox.id, key, plaintext)
    original = stored.original
    header = header_length(original)
    payload = header + NONCE_SIZE
    boundaries = [header, *(payload + k * CHUNK_CT_SIZE for k in range(4))]
    assert len(original) == boundaries[-1] + 100 + 16
    cuts = {0, 1, len(original) - 1}
    for boundary in boundaries:
        cuts |= {boundary - 1, boundary, boundary + 1}
    for cut in sorted(cuts):
        damaged = max(0, (cut - payload) // CHUNK_CT_SIZE)
        stored.refused_with(original[:cut], damaged_chunk=damaged)


@pytest.mark.parametrize("size", [3 * CHUNK_SIZE + 100, 2 * CHUNK_SIZE], ids=["short", "full"])
def test_appended_bytes_are_refused(raw_store, size: int) -> None:
    mailbox, key = new_mailbox(raw_store)
    plaintext = pattern(size, b"append")
    stored = Stored(raw_store, mailbox.id, key, plaintext)
    last = -(-size // CHUNK_SIZE) - 1
    tail = stored.original[-(size - last * CHUNK_SIZE) - 16 :]
    for extra in (b"\x00", b"\n", b"x" * 16, b"x" * 17, bytes(CHUNK_CT_SIZE), bytes(70000), tail):
        stored.refused_with(stored.original + extra, damaged_chunk=last)


def test_files_swapped_between_messages_of_a_mailbox(store, mailbox) -> None:
    box, passphrase = mailbox
    key = store.keys.unlock(box.id, passphrase)
    first = Stored(store, box.id, key, b"Subject: first\r\n\r\none\r\n")
    second = Stored(store, box.id, key, b"Subject: second\r\n\r\ntwo\r\n")
    first.path.write_bytes(second.original)
    second.path.write_bytes(first.original)
    for info in (first.info, second.info):
        released, error = read_until_failure(store, key, info)
        assert released == b""
        assert error is not None and "another mailbox, message or epoch" in str(error)
    first.path.write_bytes(first.original)
    second.path.write_bytes(second.original)
    assert read_all(store, key, first.info) == first.plaintext


def test_files_swapped_between_mailboxes(store, domain) -> None:
    one, key_one = new_mailbox(store)
    two, key_two = new_mailbox(store)
    mine = Stored(store, one.id, key_one, b"Subject: mine\r\n\r\nfor one\r\n")
    theirs = Stored(store, two.id, key_two, b"Subject: theirs\r\n\r\nfor two\r\n")
    mine.path.write_bytes(theirs.original)
    theirs.path.write_bytes(mine.original)
    assert read_until_failure(store, key_one, mine.info)[1] is not None
    assert read_until_failure(store, key_two, theirs.info)[1] is not None
    assert read_until_failure(store, key_one, mine.info)[0] == b""
    # A key of one mailbox never reads the other's messages, even their own files.
    mine.path.write_bytes(mine.original)
    assert read_until_failure(store, key_two, mine.info)[1] is not None


def replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def test_edited_bind_stanza_is_refused(raw_store) -> None:
    mailbox, key = new_mailbox(raw_store)
    stored = Stored(raw_store, mailbox.id, key, b"Subject: bound\r\n\r\nbody\r\n")
    line = f"-> {BIND_TYPE} {mailbox.id} {stored.info.id} 1 raw\n".encode()
    other_id = ("0" if stored.info.id[0] != "0" else "1") + stored.info.id[1:]
    for edited in (
        f"-> {BIND_TYPE} {mailbox.id} {other_id} 1 raw\n",
        f"-> {BIND_TYPE} {mailbox.id} {stored.info.id} 2 raw\n",
        f"-> {BIND_TYPE} {mailbox.id} {stored.info.id} 1 zstd\n",
        f"-> {BIND_TYPE} mbx-00000000000000000000 {stored.info.id} 1 raw\n",
        f"-> {BIND_TYPE} {mailbox.id} {stored.info.id} 1 raw extra\n",
        f"-> jgw-other {mailbox.id} {stored.info.id} 1 raw\n",
    ):
        stored.refused_with(replace_once(stored.original, line, edited.encode()))
    # Dropping the stanza altogether breaks the MAC too.
    stored.refused_with(replace_once(stored.original, line + b"\n", b""))


def test_validly_sealed_files_with_a_wrong_binding_are_refused(raw_store) -> None:
    """Files correctly encrypted to the mailbox's own key: only the bind check stops them."""
    mailbox, key = new_mailbox(raw_store)
    stored = Stored(raw_store, mailbox.id, key, b"Subject: bound\r\n\r\nbody\r\n")
    info = stored.info
    recipient = parse_recipient(raw_store.keys.list_epochs(mailbox.id)[0].recipient)

    def sealed(*extra: Stanza) -> bytes:
        writer = AgeWriter([recipient], extra)
        return writer.header() + writer.update(stored.plaintext) + writer.finish()

    def bind(*args: str, body: bytes = b"") -> Stanza:
        return Stanza((BIND_TYPE, *args), body)

    # The control: the right binding, freshly sealed, reads.
    stored.path.write_bytes(sealed(Binding(mailbox.id, info.id, 1, "raw").stanza()))
    assert read_all(raw_store, key, info) == stored.plaintext
    for extra in (
        (),
        (bind("mbx-00000000000000000000", info.id, "1", "raw"),),
        (bind(mailbox.id, "0" * 26, "1", "raw"),),
        (bind(mailbox.id, info.id, "2", "raw"),),
        (bind(mailbox.id, info.id, "1", "zstd"),),
        (bind(mailbox.id, info.id, "1", "gzip"),),
        (bind(mailbox.id, info.id, "one", "raw"),),
        (bind(mailbox.id, info.id, "1", "raw", "extra"),),
        (bind(mailbox.id, info.id, "1", "raw", body=b"payload"),),
        (bind(mailbox.id, info.id, "1", "raw"), bind(mailbox.id, info.id, "1", "raw")),
    ):
        stored.refused_with(sealed(*extra))
