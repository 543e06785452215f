"""`gateway storage migrate`: a SQLite + files gateway into PostgreSQL + SeaweedFS (real
servers), served afterwards and read back byte for byte over POP3; and backup/restore
of a PostgreSQL store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

from storage import open_store
from storage.maintenance.migrate import MigrateError, migrate
from storage.maintenance.tables import COPIED_TABLES
from storage.sealing import Sealer, default_sealer, read_key_file, write_new_key_file
from storage.sources import checked_settings
from tests.storage.helpers import deliver
from tests.support.argon import FAST_KDF
from tests.support.seaweed import S3Target, SeaweedS3, gateway_env, s3_blobs

from .conftest import FAST_ARGON, GATEWAY, GatewayProcess
from .test_s3_serve import big_message
from .test_serve import MESSAGE, retrieve_all, send, strip_trace

pytestmark = pytest.mark.external
MIB = 1024 * 1024
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def cli(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GATEWAY, "--data", str(data_dir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **FAST_ARGON, **env},
        timeout=300,
        check=False,
    )


def small(n: int) -> bytes:
    return f"From: Alice <alice@example.org>\r\nSubject: m{n}\r\n\r\nBody {n}.\r\n".encode()


def build_source(source: Path, big: bool = True) -> dict:
    """A SQLite + files gateway with aliases, a 20 MiB message (unless not `big`), flags, a
    relay target, a fetch source (sealed credentials) and a TOTP admin; what each
    mailbox holds."""
    store = open_store(source, kdf=FAST_KDF, sealer=default_sealer(source))
    try:
        store.domains.add("example.test")
        store.domains.add("other.test")
        first, first_pass = store.mailboxes.create(
            "example.test", name="Acme", aliases=["journal@example.test"], actor=None
        )
        second, second_pass = store.mailboxes.create("other.test", name="Other", actor=None)
        store.mailboxes.create("other.test", name="Empty", actor=None)
        middle = big_message(20 * MIB) if big else small(4)
        bodies = {first.id: [small(1), middle, small(2)], second.id: [small(3)]}
        infos = {mid: [deliver(store, mid, body) for body in msgs] for mid, msgs in bodies.items()}
        store.messages.set_flags(first.id, [infos[first.id][0].id], ["\\Seen"])
        store.relays.put(second.id, "copy@elsewhere.test", "required", "operator")
        settings = checked_settings(protocol="imap", host="imap.example.org", username="u")
        store.sources.add(second.id, "old mail", settings, {"password": "source-secret-1"})
        store.admins.create("ops", password="a long admin password 1")
        store.admins.set_totp("ops", TOTP_SECRET, ["hash-1", "hash-2"])
        store.audit.record("operator", "test.entry", first.id, "made by the test")
    finally:
        store.close()
    return {
        first.id: (first_pass, bodies[first.id]),
        second.id: (second_pass, bodies[second.id]),
    }


def target_env(dsn: str, s3: S3Target, directory: Path, seal_key: Path) -> dict[str, str]:
    return {
        "GATEWAY_STORAGE__INDEX": dsn,
        "GATEWAY_SECRETS__SEAL_KEY_FILE": str(seal_key),
        **gateway_env(s3, directory),
    }


def listing(data_dir: Path, env: dict[str, str], *command: str) -> list[dict]:
    done = cli(data_dir, env, *command, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def comparable(mailboxes: list[dict]) -> list[tuple]:
    return sorted(
        (m["id"], m["domain"], tuple(m["addresses"]), m["status"], m["messages"], m["bytes"])
        for m in mailboxes
    )


def normalized(row: tuple) -> tuple:
    """PostgreSQL's booleans and bytea as SQLite gives them (0/1, bytes)."""
    return tuple(
        int(v) if isinstance(v, bool) else bytes(v) if isinstance(v, memoryview) else v for v in row
    )


def assert_same_rows(index: Path, dsn: str) -> None:
    """Every copied table holds the same rows, every column, in both indexes."""
    source = sqlite3.connect(index)
    try:
        with psycopg.connect(dsn) as target:
            for table in COPIED_TABLES:
                columns = [r[1] for r in source.execute(f"PRAGMA table_info({table.name})")]
                query = (
                    f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY {', '.join(table.key)}"
                )
                expected = [tuple(r) for r in source.execute(query)]
                assert [normalized(r) for r in target.execute(query)] == expected, table.name
    finally:
        source.close()


def migrate_cli(source: Path, node: Path, env: dict[str, str]) -> dict:
    done = cli(node, env, "storage", "migrate", "--source", str(source), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_sqlite_gateway_migrates_into_postgresql_and_s3_and_reads_back_byte_identical(
    postgres_dsn: str, s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    source, node = tmp_path / "source", tmp_path / "node"
    mailboxes = build_source(source)
    env = target_env(postgres_dsn, s3_target, tmp_path, source / "secrets" / "seal.key")

    summary = migrate_cli(source, node, env)
    assert (summary["messages"], summary["uploaded"], summary["skipped"]) == (4, 4, 0)
    source_list = listing(source, {}, "mailbox", "list")
    assert summary["verified_bytes"] == sum(m["bytes"] for m in source_list) > 10 * MIB
    assert summary["tables"]["relay_targets"] == 1 and summary["tables"]["sources"] == 1
    assert_same_rows(source / "gateway.db", postgres_dsn)

    assert comparable(listing(node, env, "mailbox", "list")) == comparable(source_list)
    assert listing(node, env, "admin", "list") == listing(source, {}, "admin", "list")
    for mailbox_id in mailboxes:
        assert listing(node, env, "mailbox", "relay", "list", mailbox_id) == listing(
            source, {}, "mailbox", "relay", "list", mailbox_id
        )
    assert listing(node, env, "source", "list") == listing(source, {}, "source", "list")
    gateway = GatewayProcess(node, env=env)
    gateway.wait_ready()
    try:
        for mailbox_id, (passphrase, bodies) in mailboxes.items():
            assert retrieve_all(gateway.ports["pop3"], mailbox_id, passphrase) == bodies
    finally:
        assert gateway.stop() == 0
    # The sealed TOTP secret and source password open with the source's seal key.
    target = open_store(
        node,
        index=postgres_dsn,
        kdf=FAST_KDF,
        sealer=Sealer(read_key_file(source / "secrets" / "seal.key"), "source key"),
        blobs=s3_blobs(s3_target, node),
    )
    try:
        assert target.admins.totp("ops")[0] == TOTP_SECRET
        (fetch_source,) = target.sources.list()
        assert target.sources.secret(fetch_source.id) == {"password": "source-secret-1"}
    finally:
        target.close()


def test_a_sqlite_gateway_moves_its_files_into_s3_keeping_a_sqlite_index(
    s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    source, node = tmp_path / "source", tmp_path / "node"
    mailboxes = build_source(source, big=False)
    env = {
        "GATEWAY_SECRETS__SEAL_KEY_FILE": str(source / "secrets" / "seal.key"),
        **gateway_env(s3_target, tmp_path),
    }
    summary = migrate_cli(source, node, env)
    assert (summary["messages"], summary["uploaded"]) == (4, 4)
    assert not list((node / "blobs").rglob("*.age"))  # in the bucket, not on this disk
    assert comparable(listing(node, env, "mailbox", "list")) == comparable(
        listing(source, {}, "mailbox", "list")
    )
    gateway = GatewayProcess(node, env=env)
    gateway.wait_ready()
    try:
        for mailbox_id, (passphrase, bodies) in mailboxes.items():
            assert retrieve_all(gateway.ports["pop3"], mailbox_id, passphrase) == bodies
    finally:
        assert gateway.stop() == 0
    again = migrate_cli(source, node, env)
    assert (again["uploaded"], again["skipped"]) == (0, 4)


def test_a_rerun_skips_what_is_there_and_copies_only_what_changed_at_the_source(
    postgres_dsn: str, s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    source, node = tmp_path / "source", tmp_path / "node"
    mailboxes = build_source(source)
    env = target_env(postgres_dsn, s3_target, tmp_path, source / "secrets" / "seal.key")
    migrate_cli(source, node, env)
    again = migrate_cli(source, node, env)
    assert (again["messages"], again["uploaded"], again["skipped"]) == (4, 0, 4)

    # Mail arrives at the old gateway and a client deletes one, then the final pass.
    first_id = next(iter(mailboxes))
    store = open_store(source, kdf=FAST_KDF, sealer=default_sealer(source))
    try:
        deleted = store.messages.list(first_id)[0]
        store.messages.delete(first_id, [deleted.id])
        deliver(store, first_id, small(9))
    finally:
        store.close()
    final = migrate_cli(source, node, env)
    assert (final["uploaded"], final["skipped"], final["removed"]) == (1, 3, 1)
    assert comparable(listing(node, env, "mailbox", "list")) == comparable(
        listing(source, {}, "mailbox", "list")
    )
    objects = seaweed_s3.client().list_objects_v2(Bucket=s3_target.bucket, Prefix="gw/blobs/")
    keys = [o["Key"] for o in objects.get("Contents", [])]
    assert len(keys) == 4 and not any(deleted.id in key for key in keys)
    passphrase, bodies = mailboxes[first_id]
    gateway = GatewayProcess(node, env=env)
    gateway.wait_ready()
    try:
        got = retrieve_all(gateway.ports["pop3"], first_id, passphrase)
    finally:
        assert gateway.stop() == 0
    assert got == [*bodies[1:], small(9)]
    plain = cli(node, env, "storage", "migrate", "--source", str(source))
    assert plain.returncode == 0, plain.stderr
    assert "Migrated 4 messages" in plain.stdout and "0 copied, 4 already there" in plain.stdout
    assert "Wrote the index rows in one transaction." in plain.stderr


def test_an_object_damaged_in_the_object_store_is_caught_and_nothing_is_indexed(
    postgres_dsn: str, s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    source, node = tmp_path / "source", tmp_path / "node"
    build_source(source, big=False)
    sealer = default_sealer(source)
    target = open_store(
        node, index=postgres_dsn, kdf=FAST_KDF, sealer=sealer, blobs=s3_blobs(s3_target, node)
    )
    client = seaweed_s3.client()
    damaged: list[str] = []

    def damage_one_upload(phase: str, done: int, total: int) -> None:
        if phase != "uploaded" or damaged:
            return
        listed = client.list_objects_v2(Bucket=s3_target.bucket, Prefix="gw/blobs/")
        key = sorted(o["Key"] for o in listed["Contents"])[0]
        body = client.get_object(Bucket=s3_target.bucket, Key=key)["Body"].read()
        flipped = bytes([body[-1] ^ 1])
        client.put_object(Bucket=s3_target.bucket, Key=key, Body=body[:-1] + flipped)
        damaged.append(key)

    try:
        with pytest.raises(MigrateError, match="SHA-256"):
            migrate(source, target, damage_one_upload)
        assert damaged
        assert target.mailboxes.list() == [] and target.admins.list() == []
        listed = client.list_objects_v2(Bucket=s3_target.bucket, Prefix="gw/blobs/")
        assert damaged[0] not in [o["Key"] for o in listed["Contents"]]  # removed again
        report = migrate(source, target)  # the next run uploads it afresh
        assert (report.messages, report.uploaded, report.skipped) == (4, 1, 0)
        assert sum(m.messages for m in target.mailboxes.list()) == 4
    finally:
        target.close()


def test_a_target_without_the_sources_seal_key_is_refused_and_left_empty(
    postgres_dsn: str, s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    source, node = tmp_path / "source", tmp_path / "node"
    build_source(source, big=False)
    other_key = tmp_path / "other.key"
    write_new_key_file(other_key, os.urandom(32))
    env = target_env(postgres_dsn, s3_target, tmp_path, other_key)
    done = cli(node, env, "storage", "migrate", "--source", str(source))
    assert done.returncode == 1
    assert "secrets.seal_key_file" in done.stderr and "Traceback" not in done.stderr
    assert listing(node, env, "mailbox", "list") == []
    done = cli(source, env, "storage", "migrate", "--source", str(source))
    assert done.returncode == 1 and "own --data directory" in done.stderr
    not_a_gateway = tmp_path / "empty"
    not_a_gateway.mkdir()
    done = cli(node, env, "storage", "migrate", "--source", str(not_a_gateway))
    assert done.returncode == 1 and "not a Journal Gateway data directory" in done.stderr


def test_a_damaged_source_file_or_another_gateways_target_is_refused_and_nothing_indexed(
    postgres_dsn: str, s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    source, node, other = tmp_path / "source", tmp_path / "node", tmp_path / "other"
    build_source(source, big=False)
    build_source(other, big=False)
    env = target_env(postgres_dsn, s3_target, tmp_path, source / "secrets" / "seal.key")
    (victim,) = [p for p in (source / "blobs").rglob("*.age")][:1]
    original = victim.read_bytes()
    victim.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    done = cli(node, env, "storage", "migrate", "--source", str(source))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "does not match its SHA-256" in done.stderr and victim.name in done.stderr
    assert listing(node, env, "mailbox", "list") == []
    victim.write_bytes(original)
    migrate_cli(source, node, env)
    done = cli(node, env, "storage", "migrate", "--source", str(other))
    assert done.returncode == 1 and "was migrated from" in done.stderr
    assert comparable(listing(node, env, "mailbox", "list")) == comparable(
        listing(source, {}, "mailbox", "list")
    )


def test_a_postgresql_store_backs_up_and_restores_into_a_fresh_database(
    postgres_server, postgres_dsn: str, s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    node, seal_key = tmp_path / "node", tmp_path / "seal.key"
    write_new_key_file(seal_key, os.urandom(32))
    (tmp_path / "a").mkdir()
    env = target_env(postgres_dsn, s3_target, tmp_path / "a", seal_key)
    assert cli(node, env, "domain", "add", "example.test").returncode == 0
    made = cli(node, env, "mailbox", "create", "--domain", "example.test", "--json")
    mailbox = json.loads(made.stdout)
    gateway = GatewayProcess(node, env=env)
    gateway.wait_ready()
    try:
        send(gateway.ports["smtp"], mailbox["address"], MESSAGE)
        send(gateway.ports["smtp"], mailbox["address"], big_message(MIB))
        before = retrieve_all(gateway.ports["pop3"], mailbox["id"], mailbox["passphrase"])
    finally:
        assert gateway.stop() == 0
    assert strip_trace(before[0]) == MESSAGE

    dest = tmp_path / "backup"
    made = cli(node, env, "backup", str(dest), "--json")
    assert made.returncode == 0, made.stderr
    manifest = json.loads(made.stdout)
    assert (manifest["index_from"], manifest["messages"]) == ("postgresql", 2)

    fresh_dsn = postgres_server.create_database()
    other_bucket = seaweed_s3.new_target()
    (tmp_path / "b").mkdir()  # its own secret file: gateway_env writes one per directory
    env2 = target_env(fresh_dsn, other_bucket, tmp_path / "b", seal_key)
    node2 = tmp_path / "node2"
    restored = cli(node2, env2, "restore", str(dest), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["messages"] == 2
    assert comparable(listing(node2, env2, "mailbox", "list")) == comparable(
        listing(node, env, "mailbox", "list")
    )
    checked = cli(node2, env2, "fsck", "--json")
    assert checked.returncode == 0, checked.stderr + checked.stdout
    gateway = GatewayProcess(node2, env=env2)
    gateway.wait_ready()
    try:
        after = retrieve_all(gateway.ports["pop3"], mailbox["id"], mailbox["passphrase"])
    finally:
        assert gateway.stop() == 0
    assert after == before
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(mailbox["passphrase"] + "\n")
    exported = tmp_path / "exported"
    made = cli(
        node2,
        env2,
        "mailbox",
        "export",
        mailbox["id"],
        "--out",
        str(exported),
        "--format",
        "eml",
        "--passphrase-file",
        str(passphrase_file),
    )
    assert made.returncode == 0, made.stderr
    files = sorted(exported.glob("*.eml"), key=lambda p: p.stat().st_size)
    assert [p.read_bytes() for p in files] == before
    again = cli(node2, env2, "restore", str(dest))
    assert again.returncode == 1 and "not empty" in again.stderr
    postgres_server.drop_database(fresh_dsn)


def test_a_first_pass_while_mail_arrives_then_a_final_pass_copies_every_accepted_message(
    postgres_dsn: str, s3_target: S3Target, seaweed_s3: SeaweedS3, tmp_path: Path
) -> None:
    source, node = tmp_path / "source", tmp_path / "node"
    mailboxes = build_source(source, big=False)
    first_id = next(iter(mailboxes))
    env = target_env(postgres_dsn, s3_target, tmp_path, source / "secrets" / "seal.key")
    old_gateway = GatewayProcess(source)
    old_gateway.wait_ready()
    accepted: list[bytes] = []
    stop = threading.Event()

    def keep_sending() -> None:
        n = 100
        while not stop.is_set():
            body = small(n)
            send(old_gateway.ports["smtp"], f"{first_id}@example.test", body)
            accepted.append(body)
            n += 1

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        while len(accepted) < 3:
            time.sleep(0.05)
        first = migrate_cli(source, node, env)  # the old gateway keeps taking mail
        while len(accepted) < first["messages"]:  # some arrive after the snapshot
            time.sleep(0.05)
    finally:
        stop.set()
        sender.join()
        assert old_gateway.stop() == 0
    final = migrate_cli(source, node, env)
    assert final["uploaded"] >= 1 and final["messages"] == 4 + len(accepted)
    assert comparable(listing(node, env, "mailbox", "list")) == comparable(
        listing(source, {}, "mailbox", "list")
    )
    passphrase, bodies = mailboxes[first_id]
    gateway = GatewayProcess(node, env=env)
    gateway.wait_ready()
    try:
        got = retrieve_all(gateway.ports["pop3"], first_id, passphrase)
    finally:
        assert gateway.stop() == 0
    assert got[:3] == bodies
    assert [strip_trace(m) for m in got[3:]] == accepted
