"""gateway mailbox bulk status|delete and gateway mailbox export-csv."""

from __future__ import annotations

import csv
import io
import json
import stat

import pytest

from storage.bulk import CSV_COLUMNS
from tests.support.mail import deliver

from .conftest import failed, ok


@pytest.fixture
def boxes(store, domain):
    """example.test: E0..E3 (E0, E2 on hold; E0 holds a message); other.test: O0 (hold)."""
    store.domains.add("other.test")
    made = {}
    for n in range(4):
        status = "hold" if n % 2 == 0 else "active"
        made[f"E{n}"] = store.mailboxes.create(domain, name=f"E{n}", status=status, actor=None)[0]
    made["O0"] = store.mailboxes.create("other.test", name="O0", status="hold", actor=None)[0]
    deliver(store, made["E0"].id, b"Subject: keep\r\n\r\nbody\r\n")
    return made


def statuses(store) -> dict[str, str]:
    return {m.name: m.status for m in store.mailboxes.list()}


def test_status_by_ids_and_by_filter(run, store, boxes):
    ids = f"{boxes['E1'].id},{boxes['E3'].id}"
    out = ok(run("mailbox", "bulk", "status", "--status", "disabled", "--ids", ids)).stdout
    assert "2 mailboxes changed, 0 already had it" in out and "bulk-" in out
    result = ok(
        run(
            "mailbox",
            "bulk",
            "status",
            "--status",
            "receive-only",
            "--filter",
            "domain=example.test",
            "--filter",
            "status=hold",
            "--json",
        )
    )
    document = json.loads(result.stdout)
    assert sorted(document["changed"]) == sorted([boxes["E0"].id, boxes["E2"].id])
    assert statuses(store) == {
        "E0": "receive-only",
        "E1": "disabled",
        "E2": "receive-only",
        "E3": "disabled",
        "O0": "hold",
    }
    updates = [e for e in store.audit.list() if e.action == "mailbox.update"]
    assert len(updates) == 4 and all(e.actor == "cli" for e in updates)
    assert f"bulk={document['reference']}" in updates[0].detail


def test_selections_must_be_one_and_valid(run, store, boxes):
    before = statuses(store)
    failed(run("mailbox", "bulk", "status", "--status", "hold"), "choose mailboxes", code=2)
    failed(
        run("mailbox", "bulk", "status", "--status", "hold", "--all", "--ids", boxes["E1"].id),
        "one of --ids",
        code=2,
    )
    failed(run("mailbox", "bulk", "status", "--status", "asleep", "--all"), code=2)
    failed(
        run("mailbox", "bulk", "status", "--status", "hold", "--filter", "x"), "KEY=VALUE", code=2
    )
    failed(
        run("mailbox", "bulk", "status", "--status", "hold", "--filter", "colour=red"),
        "unknown filter colour",
    )
    failed(
        run("mailbox", "bulk", "status", "--status", "hold", "--ids", "mbx-nosuchmailbox0000000"),
        "no mailbox mbx-nosuchmailbox0000000",
    )
    failed(
        run("mailbox", "bulk", "status", "--status", "hold", "--filter", "q=zzz"),
        "no mailbox matches the filter",
    )
    assert statuses(store) == before and store.audit.list() == []


def test_delete_lists_then_needs_the_count(run, store, boxes, tmp_path):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(boxes[n].id for n in ("E0", "E1", "E2")) + "\n")
    first = run("mailbox", "bulk", "delete", "--ids-file", str(ids_file))
    failed(first, "nothing deleted: confirm with --confirm 2")
    assert "Would delete 2 mailboxes (1 messages)" in first.stdout
    assert "Would keep 1" in first.stdout and boxes["E1"].id in first.stdout
    failed(
        run("mailbox", "bulk", "delete", "--ids-file", str(ids_file), "--confirm", "3"),
        "confirm with 2",
    )
    assert len(store.mailboxes.list()) == 5
    stdin = ids_file.read_text()
    argv = ("mailbox", "bulk", "delete", "--ids-file", "-", "--confirm", "2", "--json")
    result = ok(run(*argv, input=stdin))
    document = json.loads(result.stdout)
    assert sorted(document["deleted"]) == sorted([boxes["E0"].id, boxes["E2"].id])
    assert document["kept"] == [{"id": boxes["E1"].id, "name": "E1", "status": "active"}]
    assert document["messages_destroyed"] == 1
    assert sorted(statuses(store)) == ["E1", "E3", "O0"]
    assert [e.detail for e in store.audit.list() if e.action == "mailbox.bulk-delete"] == [
        "deleted=2 kept=1"
    ]


def test_export_csv_to_stdout_and_to_a_new_private_file(run, store, boxes, tmp_path):
    store.mailboxes.update(boxes["E1"].id, name="@SUM(A1:A9)")
    result = ok(run("mailbox", "export-csv", "--filter", "domain=example.test"))
    rows = list(csv.reader(io.StringIO(result.stdout, newline="")))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 5
    names = {r[0]: r[1] for r in rows[1:]}
    assert names[boxes["E1"].id] == "'@SUM(A1:A9)"
    assert {r[0]: r[5] for r in rows[1:]}[boxes["E0"].id] == "1"
    out = tmp_path / "mailboxes.csv"
    ok(run("mailbox", "export-csv", "--all", "--out", str(out)))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(list(csv.reader(out.open(newline="")))) == 6
    failed(run("mailbox", "export-csv", "--all", "--out", str(out)), "exists")
    assert [e.detail for e in store.audit.list() if e.action == "mailbox.list-export"] == [
        "mailboxes=5",
        "mailboxes=4",
    ]
