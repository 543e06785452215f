"""Files at rest are private whatever the umask: DATA and its directories 0700, files 0600.

Library users and tests run under umask 022, which used to leave DATA 0755 and
gateway.db, -wal and -shm 0644 (readable by every local user).
"""

from __future__ import annotations

import os
import stat

import pytest

from storage.file_modes import find_loose_modes, tighten
from tests.support.mail import deliver, sample_message
from tests.support.modes import not_private, umask, walked


@pytest.fixture
def umask_022():
    with umask(0o022):
        yield


@pytest.mark.usefixtures("umask_022")  # before the store is opened
def test_a_store_made_under_umask_022_is_private_down_to_every_file(store, mailbox):
    mbx, _ = mailbox
    data = store.data_dir
    store.admins.create("alice")
    store.admins.set_totp("alice", "JBSWY3DPEHPK3PXP", ["h"])
    deliver(store, mbx.id, sample_message(1))
    (data / "blobs" / "stray.age").write_bytes(b"not an age file")
    store.maintenance.reconcile()  # quarantines the stray file
    unfinished = store.messages.begin_delivery(mbx.id)
    unfinished.write(sample_message(2))  # a delivery in flight: its file in tmp/
    paths = walked(data)
    # The index and its WAL files, while the store has them open.
    assert {"gateway.db", "gateway.db-wal", "gateway.db-shm"} <= paths
    assert {"secrets/seal.key", "quarantine/blobs_stray.age"} <= paths
    assert any(p.startswith(f"blobs/{mbx.id}/") and p.endswith(".age") for p in paths)
    assert any(p.startswith("tmp/") for p in paths)
    assert os.umask(0o022) == 0o022  # the test really ran under 022
    assert not_private(data) == {}


def test_an_existing_wider_file_is_found_and_tightened_never_loosened(store, mailbox):
    mbx, _ = mailbox
    info = deliver(store, mbx.id, sample_message(1))
    blob = store.data_dir / info.path
    assert store.maintenance.loose_file_modes() == []
    os.chmod(blob, 0o644)
    os.chmod(blob.parent, 0o755)
    os.chmod(store.data_dir, 0o750)
    os.symlink("/etc/passwd", store.data_dir / "tmp" / "link")  # never followed, not reported
    loose = store.maintenance.loose_file_modes()
    assert [(item.path, item.mode, item.wanted) for item in loose] == [
        (".", 0o750, 0o700),
        (info.path.rsplit("/", 1)[0], 0o755, 0o700),
        (info.path, 0o644, 0o600),
    ]
    assert [item.describe() for item in loose][2] == (
        f"file {info.path} has mode 0644, should be 0600"
    )
    assert tighten(store.data_dir, loose) == loose
    assert find_loose_modes(store.data_dir) == []
    assert stat.S_IMODE(blob.stat().st_mode) == 0o600
    assert stat.S_IMODE(os.stat("/etc/passwd").st_mode) == 0o644  # the link's target untouched
