"""Tampering at rest: damaged files and index rows are refused clearly, the rest is served,
and `gateway fsck` reports every one.

Mail arrives over SMTP (12 messages in mailbox A, 2 in B). With the server stopped, the
data directory is damaged as disk faults or an intruder would: a payload byte flipped,
a header byte flipped, a file truncated, two files swapped, a file replaced by one from
another mailbox, a file deleted, and index rows edited with sqlite3 (a row pointing at
another message's file, a row's key epoch changed, a row's SHA-256 changed). After a
restart:

- POP3: RETR of a damaged message drops the connection without the final "." (the
  client never mistakes it for a whole message); a message sealed under an epoch the
  key cannot open is not offered at all; every intact message is served byte-identical.
- IMAP: FETCH of a damaged message closes the connection; intact ones are served.
- `gateway fsck` exits 1 and names each damaged row and the missing file, and nothing
  intact; with the SHA-256 row edit the file itself still authenticates, so retrieval
  serves it (content is proven by its AEAD, not by the index) while fsck reports the
  row.
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import poplib
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from .support import (
    Box,
    Gateway,
    Ledger,
    cli,
    insecure_tls,
    make_mailboxes,
    make_message,
    send_one,
    smtp_session,
    split_trace,
)

pytestmark = pytest.mark.timeout(120)  # hang detection, not a speed target


def deliver(gateway: Gateway, box: Box, count: int, rng: random.Random) -> dict[str, bytes]:
    """canary -> message, in sending order (which is the mailbox's UID order)."""
    sent = {}
    client = smtp_session(gateway.smtp)
    for n in range(count):
        canary = f"t{box.id[-4:]}{n}"
        message = make_message(canary, rng.choice([800, 30_000, 150_000]), rng)
        assert send_one(client, box, canary, message, Ledger()) == 250
        sent[canary] = message
    client.quit()
    return sent


def rows(data: Path) -> dict[str, dict]:
    with contextlib.closing(sqlite3.connect(data / "gateway.db")) as db:
        db.row_factory = sqlite3.Row
        found = db.execute(
            "SELECT id, mailbox_id, uid, epoch, path, sha256 FROM messages ORDER BY uid"
        )
        return {r["id"]: dict(r) for r in found}


def sql(data: Path, statement: str, *args: object) -> None:
    with contextlib.closing(sqlite3.connect(data / "gateway.db")) as db:
        db.execute(statement, args)
        db.commit()


def flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x40
    path.write_bytes(bytes(raw))


def header_length(path: Path) -> int:
    return path.read_bytes().index(b"\n---") + 1


def pop3_retr(gateway: Gateway, box: Box, uidl: str) -> bytes | None:
    """The message with this UIDL, or None if the server dropped the connection mid-way
    (RETR never ended with its final '.'). Raises if the message is not offered."""
    client = poplib.POP3("127.0.0.1", gateway.pop3, timeout=30)
    try:
        client.stls(context=insecure_tls())
        client.user(box.address)
        client.pass_(box.passphrase)
        listing = dict(reversed(e.decode().split()) for e in client.uidl()[1])
        number = int(listing[uidl])
        try:
            _, lines, _ = client.retr(number)
        except (poplib.error_proto, ConnectionError) as exc:
            assert "EOF" in str(exc) or isinstance(exc, ConnectionError), exc
            return None
        client.quit()
        return b"\r\n".join(lines) + b"\r\n"
    finally:
        with contextlib.suppress(OSError):
            client.close()


def pop3_offered(gateway: Gateway, box: Box) -> set[str]:
    client = poplib.POP3("127.0.0.1", gateway.pop3, timeout=30)
    client.stls(context=insecure_tls())
    client.user(box.address)
    client.pass_(box.passphrase)
    offered = {e.decode().split()[1] for e in client.uidl()[1]}
    client.quit()
    return offered


def imap_fetch(gateway: Gateway, box: Box, uid: int) -> bytes | str | None:
    """BODY[] of this UID; None if the server closed the connection instead; "not offered"
    if INBOX shows no message with this UID."""
    client = imaplib.IMAP4("127.0.0.1", gateway.imap, timeout=30)
    try:
        client.starttls(ssl_context=insecure_tls())
        client.login(box.address, box.passphrase)
        client.select("INBOX", readonly=True)
        try:
            typ, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
        except (imaplib.IMAP4.abort, ConnectionError, OSError):
            return None
        assert typ == "OK", data
        bodies = [item[1] for item in data if isinstance(item, tuple)]
        client.logout()
        if data == [None]:
            return "not offered"
        assert len(bodies) == 1, data
        return bodies[0]
    finally:
        with contextlib.suppress(OSError):
            client.shutdown()


def test_tampered_files_and_rows_are_refused_served_and_reported(tmp_path, figures) -> None:
    data = tmp_path / "data"
    box_a, box_b = make_mailboxes(data, 2)
    rng = random.Random(5)
    gateway = Gateway(data)
    gateway.wait_ready()
    try:
        sent = deliver(gateway, box_a, 12, rng) | deliver(gateway, box_b, 2, rng)
    finally:
        assert gateway.stop() == 0
    index = rows(data)
    a = [r for r in index.values() if r["mailbox_id"] == box_a.id]
    b = [r for r in index.values() if r["mailbox_id"] == box_b.id]
    assert (len(a), len(b)) == (12, 2)
    file = {r["id"]: data / r["path"] for r in index.values()}

    # --- the damage --------------------------------------------------------------------
    damage = {}
    target = file[a[0]["id"]]
    flip(target, (header_length(target) + target.stat().st_size) // 2)
    damage[a[0]["id"]] = "payload byte flipped"
    flip(file[a[1]["id"]], header_length(file[a[1]["id"]]) // 2)
    damage[a[1]["id"]] = "header byte flipped"
    with open(file[a[2]["id"]], "r+b") as fh:
        fh.truncate(file[a[2]["id"]].stat().st_size - 50)
    damage[a[2]["id"]] = "truncated"
    swap = file[a[3]["id"]].with_suffix(".swap")
    file[a[3]["id"]].rename(swap)
    file[a[4]["id"]].rename(file[a[3]["id"]])
    swap.rename(file[a[4]["id"]])
    damage[a[3]["id"]] = damage[a[4]["id"]] = "swapped with each other"
    shutil.copyfile(file[b[0]["id"]], file[a[5]["id"]])
    damage[a[5]["id"]] = "replaced by a file of another mailbox"
    file[a[6]["id"]].unlink()
    damage[a[6]["id"]] = "file deleted"
    sql(data, "UPDATE messages SET path=? WHERE id=?", a[8]["path"], a[7]["id"])
    damage[a[7]["id"]] = "row points at another message's file"
    sql(data, "UPDATE messages SET epoch=epoch+1 WHERE id=?", a[9]["id"])
    damage[a[9]["id"]] = "row's key epoch changed"
    sql(data, "UPDATE messages SET sha256=? WHERE id=?", "0" * 64, b[1]["id"])
    row_checksum = b[1]["id"]  # file intact, only the index checksum is wrong
    intact = {a[8]["id"], a[10]["id"], a[11]["id"], b[0]["id"], b[1]["id"]}
    # Which message each row must serve: sending order is UID order, A's then B's.
    canary_of = {r["id"]: c for r, c in zip(a + b, list(sent), strict=True)}

    # --- retrieval after a restart -------------------------------------------------------
    gateway = Gateway(data)
    gateway.wait_ready()
    outcome: dict[str, tuple[str, str]] = {}
    try:
        offered_a = pop3_offered(gateway, box_a)
        for message_id, row in index.items():
            box = box_a if row["mailbox_id"] == box_a.id else box_b
            if message_id not in offered_a and box is box_a:
                pop3 = "not offered"
            else:
                got = pop3_retr(gateway, box, message_id)
                pop3 = "refused" if got is None else "served"
                if got is not None:
                    split_trace(got, sent[canary_of[message_id]])  # byte-identical
            got = imap_fetch(gateway, box, row["uid"])
            imap = "refused" if got is None else "not offered" if got == "not offered" else "served"
            if isinstance(got, bytes):
                split_trace(got, sent[canary_of[message_id]])
            outcome[message_id] = (pop3, imap)
        assert gateway.alive()
        assert not gateway.log_problems(), gateway.log_problems()
    finally:
        assert gateway.stop() == 0

    for message_id in intact:
        assert outcome[message_id] == ("served", "served"), (message_id, outcome[message_id])
    for message_id, what in damage.items():
        if message_id != a[9]["id"]:
            assert outcome[message_id] == ("refused", "refused"), (what, outcome[message_id])
    # Its epoch is not one the key opens: not shown, like mail under an earlier passphrase.
    assert outcome[a[9]["id"]] == ("not offered", "not offered")

    # --- fsck names every damaged row and nothing else ---------------------------------------
    checked = cli(data, "fsck", "--json")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert {p["message_id"] for p in report["missing"]} == {a[6]["id"]}
    damaged = {p["message_id"]: p["reason"] for p in report["damaged"]}
    assert set(damaged) == (set(damage) - {a[6]["id"]}) | {row_checksum}, damaged
    figures.record(
        "tampering",
        messages=len(index),
        damaged=len(damage),
        outcomes={damage.get(k, "intact"): v for k, v in outcome.items()},
        fsck_missing=len(report["missing"]),
        fsck_damaged=len(report["damaged"]),
        fsck_exit=checked.returncode,
    )
