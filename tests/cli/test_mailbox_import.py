"""gateway mailbox import: bulk onboarding from a CSV file, passphrases to a 0600 file."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from storage.actions import IMPORT_KEY
from tests.support.argon import FAST_ENV
from tests.support.mail import send_with_smtplib

from .conftest import failed, ok, snapshot

# For the 10,000-row runs: real Argon2id with the least memory, the small age key type.
BULK_ENV = {
    "GATEWAY_CRYPTO__ARGON2_MEMORY_KIB": "64",
    "GATEWAY_CRYPTO__RECIPIENT": "x25519",
}
OUT_COLUMNS = ["id", "address", "name", "domain", "aliases", "passphrase", "import_key"]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def out_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == OUT_COLUMNS
        return list(reader)


def imported(store) -> dict[str, str]:
    """import key -> mailbox id, of every mailbox in the store."""
    return {m.settings[IMPORT_KEY]: m.id for m in store.mailboxes.list()}


def test_creates_mailboxes_and_writes_passphrases_only_to_a_0600_file(run, store, domain, tmp_path):
    source = write_csv(
        tmp_path / "in.csv",
        "\ufeffname,description,domain,aliases,quota\n"
        "Acme journal,Acme rule 1,example.test,journal@example.test;archive@example.test,10 GiB\n"
        "Contoso,,example.test,,0\n",
    )
    out = tmp_path / "pass.csv"
    result = ok(run("mailbox", "import", str(source), "--out", str(out)))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = out_rows(out)
    assert {r["name"] for r in rows} == {"Acme journal", "Contoso"}
    for row in rows:
        assert row["passphrase"] not in result.stdout + result.stderr
        assert store.keys.unlock(row["id"], row["passphrase"]).mailbox_id == row["id"]
    acme = store.mailboxes.get("journal@example.test")
    assert acme.aliases == ("archive@example.test", "journal@example.test")
    assert acme.quota == 10 << 30 and acme.description == "Acme rule 1"
    assert "Created 2 mailboxes" in result.stdout


def test_bad_rows_are_reported_by_physical_line_and_nothing_is_created(
    run, store, domain, tmp_path, data_dir
):
    source = write_csv(
        tmp_path / "in.csv",
        "name,description,domain,quota\n"  # line 1
        'Acme,"a description\nover three\nlines",example.test,0\n'  # lines 2-4
        "Bad quota,,example.test,lots\n"  # line 5
        "\n"  # line 6, blank
        "Elsewhere,,unknown.test,0\n",  # line 7
    )
    before = snapshot(data_dir)
    out = tmp_path / "pass.csv"
    stderr = failed(run("mailbox", "import", str(source), "--out", str(out)), "nothing was created")
    assert f"{source}:5: quota 'lots' is not a size" in stderr
    assert f"{source}:7: no domain unknown.test" in stderr
    assert f"{source}:2:" not in stderr
    assert snapshot(data_dir) == before and not out.exists()


def test_skip_bad_creates_the_good_rows_and_lists_the_bad(run, store, domain, tmp_path):
    source = write_csv(
        tmp_path / "in.csv",
        "name,domain\nGood,example.test\n,example.test\nAlso good,example.test\n",
    )
    out = tmp_path / "pass.csv"
    result = ok(run("mailbox", "import", str(source), "--out", str(out), "--skip-bad", "--json"))
    document = json.loads(result.stdout)
    assert document["created"] == 2 and document["skipped"] == 0
    assert document["bad_rows"] == [
        {"line": 3, "reason": "a row needs a name or a key (the import key a re-run skips by)"}
    ]
    assert document["out"] == str(out) and "passphrase" not in result.stdout.lower()
    assert f"{source}:3: a row needs a name or a key" in result.stderr
    assert sorted(m.name for m in store.mailboxes.list()) == ["Also good", "Good"]


def test_ten_thousand_rows_with_broken_rows_in_the_middle(run, store, domain, tmp_path, data_dir):
    lines = ["name,domain,aliases,quota"]
    for n in range(10_000):
        lines.append(f"Customer {n},example.test,{f'j{n}@example.test' if n % 50 == 0 else ''},0")
    lines[5001] = "Broken quota,example.test,,ten gigs"
    lines[5002] = "Foreign alias,example.test,x@elsewhere.test,0"
    lines[5003] = "Customer 7,example.test,,0"  # the key example.test/customer 7 again
    source = write_csv(tmp_path / "in.csv", "\n".join(lines) + "\n")
    out = tmp_path / "pass.csv"
    before = snapshot(data_dir)
    stderr = failed(run("mailbox", "import", str(source), "--out", str(out), env=BULK_ENV))
    assert f"{source}:5002: quota 'ten gigs' is not a size" in stderr
    assert f"{source}:5003: x@elsewhere.test: its domain is not an accepted domain" in stderr
    assert f"{source}:5004: import key 'example.test/customer 7' is also on line 9" in stderr
    assert snapshot(data_dir) == before and not out.exists()

    args = ("mailbox", "import", str(source), "--out", str(out), "--skip-bad", "--jobs", "2")
    document = json.loads(ok(run(*args, "--json", env=BULK_ENV)).stdout)
    assert document["created"] == 9_997
    assert [bad["line"] for bad in document["bad_rows"]] == [5002, 5003, 5004]
    rows = out_rows(out)
    assert len(rows) == 9_997 == len({r["id"] for r in rows}) == len(store.mailboxes.list())
    assert {r["import_key"] for r in rows} == set(imported(store))
    spot = rows[4321]
    assert store.keys.unlock(spot["id"], spot["passphrase"]).mailbox_id == spot["id"]
    assert store.mailboxes.get("j4950@example.test").name == "Customer 4950"


def test_existing_out_file_is_refused_and_kept(run, store, domain, tmp_path, data_dir):
    source = write_csv(tmp_path / "in.csv", "name,domain\nAcme,example.test\n")
    out = tmp_path / "pass.csv"
    out.write_text("earlier passphrases\n")
    before = snapshot(data_dir)
    failed(run("mailbox", "import", str(source), "--out", str(out)), "exists", "never overwritten")
    assert out.read_text() == "earlier passphrases\n"
    assert snapshot(data_dir) == before


def test_rerun_with_a_new_out_skips_created_rows_and_says_so(run, store, domain, tmp_path):
    source = write_csv(
        tmp_path / "in.csv", "name,domain\nAcme,example.test\nContoso,example.test\n"
    )
    ok(run("mailbox", "import", str(source), "--out", str(tmp_path / "one.csv")))
    with source.open("a") as fh:
        fh.write("Fabrikam,example.test\n")
    second = tmp_path / "two.csv"
    result = ok(run("mailbox", "import", str(source), "--out", str(second)))
    assert "skipped 2 rows already created" in result.stderr
    assert "cannot be recovered" in result.stderr
    assert [r["name"] for r in out_rows(second)] == ["Fabrikam"]
    assert len(store.mailboxes.list()) == 3


def test_kill_9_midway_then_rerun_gives_each_mailbox_exactly_one_passphrase(
    store, domain, tmp_path, data_dir
):
    lines = ["name,domain"] + [f"Customer {n},example.test" for n in range(3_000)]
    source = write_csv(tmp_path / "in.csv", "\n".join(lines) + "\n")
    first, second = tmp_path / "one.csv", tmp_path / "two.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {"GATEWAY_DATA": str(data_dir), **FAST_ENV, **BULK_ENV}
    command = [sys.executable, "-m", "gateway.cli.main", "mailbox", "import", str(source)]
    process = subprocess.Popen(
        [*command, "--out", str(first), "--jobs", "2"], env=env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if first.exists() and first.read_text().count("\n") > 200:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the import finished before it was killed"

    done = subprocess.run(
        [*command, "--out", str(second)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "rows already created" in done.stderr
    rows = out_rows(first) + out_rows(second)
    mailboxes = store.mailboxes.list()
    assert len(mailboxes) == 3_000 and len(imported(store)) == 3_000
    by_id: dict[str, list[str]] = {}
    for row in rows:
        by_id.setdefault(row["id"], []).append(row["passphrase"])
    for mailbox in mailboxes:
        (passphrase,) = by_id[mailbox.id]  # exactly one, in one of the two files
    sample = mailboxes[::300]
    for mailbox in sample:
        store.keys.unlock(mailbox.id, by_id[mailbox.id][0])


def test_formula_cells_are_neutralised_in_the_passphrase_file(run, store, domain, tmp_path):
    source = write_csv(
        tmp_path / "in.csv",
        'name,domain,key\n"=HYPERLINK(""http://evil"")",example.test,k1\n'
        "+1 journal,example.test,k2\n-2 journal,example.test,k3\n@SUM(A1),example.test,=k4\n",
    )
    out = tmp_path / "pass.csv"
    ok(run("mailbox", "import", str(source), "--out", str(out)))
    rows = {r["import_key"]: r for r in out_rows(out)}
    assert rows["k1"]["name"] == '\'=HYPERLINK("http://evil")'
    assert rows["k2"]["name"] == "'+1 journal"
    assert rows["k3"]["name"] == "'-2 journal"
    assert rows["'=k4"]["name"] == "'@SUM(A1)"
    # the store keeps the names as given; only the spreadsheet file is neutralised
    assert store.mailboxes.get(rows["k3"]["id"]).name == "-2 journal"
    for row in rows.values():
        assert not row["passphrase"].startswith("'")


def test_alias_in_a_domain_not_accepted_is_refused(run, store, domain, tmp_path, data_dir):
    store.mailboxes.create(domain, name="Taken", aliases=["taken@example.test"], actor=None)
    source = write_csv(
        tmp_path / "in.csv",
        "name,domain,aliases\n"
        "One,example.test,one@customer-b.test\n"
        "Two,example.test,taken@example.test\n"
        "Three,example.test,same@example.test\n"
        "Four,example.test,same@example.test\n",
    )
    before = snapshot(data_dir)
    stderr = failed(run("mailbox", "import", str(source), "--out", str(tmp_path / "o.csv")))
    assert f"{source}:2: one@customer-b.test: its domain is not an accepted domain" in stderr
    assert f"{source}:3: address taken@example.test is already in use" in stderr
    assert f"{source}:5: address same@example.test is also asked for on line 4" in stderr
    assert snapshot(data_dir) == before


def test_unknown_columns_are_named(run, store, domain, tmp_path):
    source = write_csv(tmp_path / "in.csv", "name,domain,passwd,colour\nAcme,example.test,x,y\n")
    failed(
        run("mailbox", "import", str(source), "--out", str(tmp_path / "o.csv")),
        "unknown column(s): passwd, colour",
    )
    assert store.mailboxes.list() == []


def test_file_without_domain_column_or_not_utf8_is_refused(run, store, domain, tmp_path):
    no_domain = write_csv(tmp_path / "a.csv", "name\nAcme\n")
    failed(run("mailbox", "import", str(no_domain), "--out", str(tmp_path / "o.csv")), "domain")
    latin1 = tmp_path / "b.csv"
    latin1.write_bytes("name,domain\nM\xfcller,example.test\n".encode("latin-1"))
    failed(run("mailbox", "import", str(latin1), "--out", str(tmp_path / "o.csv")), "not UTF-8")
    assert store.mailboxes.list() == [] and not (tmp_path / "o.csv").exists()


def test_audit_has_one_create_per_mailbox_and_one_import_summary(run, store, domain, tmp_path):
    source = write_csv(tmp_path / "in.csv", "name,domain\nA,example.test\nB,example.test\n")
    ok(run("mailbox", "import", str(source), "--out", str(tmp_path / "o.csv")))
    creates = store.audit.list(action="mailbox.create")
    assert sorted(e.target for e in creates) == sorted(m.id for m in store.mailboxes.list())
    (summary,) = store.audit.list(action="mailbox.import")
    assert summary.detail == "created=2 skipped=0 bad=0" and summary.target == "in.csv"


async def test_mail_to_an_imported_alias_is_delivered(
    run, store, domain, tmp_path, smtp_port, client_tls
):
    source = write_csv(
        tmp_path / "in.csv", "name,domain,aliases\nAcme,example.test,j@example.test\n"
    )
    await asyncio.to_thread(
        lambda: ok(run("mailbox", "import", str(source), "--out", str(tmp_path / "o.csv")))
    )
    raw = b"Subject: hello\r\n\r\njournal report\r\n"
    await asyncio.to_thread(send_with_smtplib, smtp_port, "j@example.test", [raw], client_tls)
    assert store.mailboxes.get("j@example.test").messages == 1


def test_an_alias_given_twice_in_one_row_is_a_bad_row(run, store, domain, tmp_path):
    text = "name,domain,aliases\nAcme,example.test,a@example.test A@example.test\n"
    source = write_csv(tmp_path / "in.csv", text)
    failed(
        run("mailbox", "import", str(source), "--out", str(tmp_path / "o.csv")),
        f"{source}:2: address a@example.test given twice",
        "nothing was created",
    )
    assert store.mailboxes.list() == []
