"""Promises of Maintenance.snapshot_index (what `gateway backup` copies), on every index."""

from __future__ import annotations

from pathlib import Path

from storage import Store
from storage.sqlite.snapshot import index_copy_problem
from tests.support.mail import deliver, sample_message


def test_an_index_snapshot_is_a_gateway_index_with_every_committed_message(
    contract_store: Store, box, tmp_path: Path
) -> None:
    mailbox, _ = box
    infos = [deliver(contract_store, mailbox.id, sample_message(n)) for n in range(3)]
    contract_store.messages.delete(mailbox.id, [infos[0].id])
    snapshot = contract_store.maintenance.snapshot_index(tmp_path / "copy.db")
    try:
        assert snapshot.counts() == (1, 2)
        listed = {(m, path, sha) for m, path, sha in snapshot.message_files()}
        assert listed == {(i.id, i.path, i.sha256) for i in infos[1:]}
        assert snapshot.schema_version() >= 1
        assert snapshot.origin in ("sqlite", "postgresql")
    finally:
        snapshot.close()
    assert index_copy_problem(tmp_path / "copy.db") is None  # restore accepts it
