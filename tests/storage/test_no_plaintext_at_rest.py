"""No message content at rest (DESIGN §3): subject, sender and body exist only encrypted.

Every file under the data directory is searched: the index, its WAL and shared-memory
files while the store is open, the blobs, and the temp file of a delivery in progress.
A positive control (metadata that is stored in clear) proves the search sees the index.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from storage import open_store
from tests.support.argon import FAST_KDF

from .helpers import all_files, deliver, message_text, read_all


def findings(data_dir: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    """For each needle, the files (relative paths) that contain it."""
    found: dict[str, list[str]] = {name: [] for name in needles}
    for path in all_files(data_dir):
        content = path.read_bytes()
        for name, needle in needles.items():
            if needle in content:
                found[name].append(path.relative_to(data_dir).as_posix())
    return found


@pytest.mark.parametrize("compress", [True, False], ids=["zstd", "raw"])
@pytest.mark.parametrize("kind", ["mlkem768x25519", "x25519"])
def test_content_never_at_rest(tmp_path: Path, compress: bool, kind: str) -> None:
    data_dir = tmp_path / "data"
    token = secrets.token_hex(8)
    canary = f"CANARY-{token}-do-not-store-in-clear"
    subject = f"Quarterly figures {token}"
    sender = f"cfo.{token}@sender.example"
    control = f"visible-metadata-{token}"
    needles = {
        "canary": canary.encode(),
        "subject": subject.encode(),
        "sender": sender.encode(),
        "canary-utf16": canary.encode("utf-16-le"),
    }
    store = open_store(data_dir, kdf=FAST_KDF, recipient_type=kind, compress=compress)
    try:
        store.domains.add("example.test")
        mailbox, passphrase = store.mailboxes.create(
            "example.test", description=control, actor=None
        )
        message = message_text(subject, sender, f"Body with the {canary} inside.")
        small = deliver(store, mailbox.id, message)
        big = deliver(store, mailbox.id, message * 3000, "random")  # many chunks
        # A delivery still arriving: its encrypted temp file is on disk.
        in_progress = store.messages.begin_delivery(mailbox.id)
        in_progress.write(message + secrets.token_bytes(200_000) + message)
        (temp,) = (data_dir / "tmp").iterdir()
        assert temp.stat().st_size > 65536

        searched = {p.relative_to(data_dir).as_posix() for p in all_files(data_dir)}
        assert {"gateway.db", "gateway.db-wal", small.path, big.path} <= searched
        assert findings(data_dir, needles) == {name: [] for name in needles}
        control_hits = findings(data_dir, {"control": control.encode()})["control"]
        assert set(control_hits) & {"gateway.db", "gateway.db-wal"}

        # The content is really in there, readable with the key.
        key = store.keys.unlock(mailbox.id, passphrase)
        assert canary.encode() in read_all(store, key, small)
        in_progress.abort()
    finally:
        store.close()
    # After close (WAL checkpointed into the database) still nothing.
    assert findings(data_dir, needles) == {name: [] for name in needles}
