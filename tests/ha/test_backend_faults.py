"""PostgreSQL restarts and the object store stops under two nodes behind HAProxy:
4xx meanwhile, nothing acknowledged lost, nothing half-listed, and the nodes recover by
themselves (same processes, no restart)."""

from __future__ import annotations

import poplib
import random
import re
import smtplib
import time

import pytest

from tests.reliability.support import (
    check_retrieved,
    insecure_tls,
    make_message,
    pop3_fetch_all,
)
from tests.support.ha import CLIENT, idle_sees_mail_from, pop3_login, run_load, send_to_node

pytestmark = pytest.mark.external
LOAD_SECONDS = 16.0
OUTAGE_AT = 4.0  # seconds into the load
OUTAGE = 3.0  # seconds PostgreSQL stays down
RECOVERY_BOUND = 20.0  # seconds a node may take to deliver again once PostgreSQL is back


def delivered_again(port: int, box, number: int) -> float:
    """Seconds until `port`'s node takes a message again (4xx answers retried)."""
    started = time.monotonic()
    while True:
        try:
            send_to_node(port, box, f"Subject: again {number}\r\n\r\nx\r\n".encode())
            return time.monotonic() - started
        except (smtplib.SMTPException, OSError):
            assert time.monotonic() - started < RECOVERY_BOUND, "the node did not recover"
            time.sleep(0.5)


def test_a_postgresql_restart_mid_load_gives_4xx_and_loses_nothing(cluster, figures):
    boxes = [cluster.mailbox(), cluster.mailbox()]
    cluster.start()
    pids = [node.pid for node in cluster.nodes]
    outage: dict[str, float] = {}

    def restart_postgres(started: float) -> None:
        time.sleep(OUTAGE_AT)
        cluster.postgres.stop()
        outage["down_at"] = time.monotonic() - started
        time.sleep(OUTAGE)
        cluster.postgres.start()
        outage["up_at"] = time.monotonic() - started

    load = run_load(cluster.port("smtp"), boxes, LOAD_SECONDS, during=restart_postgres)
    recovered = [
        delivered_again(node.ports["smtp"], boxes[0], n) for n, node in enumerate(cluster.nodes)
    ]
    assert [node.pid for node in cluster.nodes] == pids and all(
        node.alive() for node in cluster.nodes
    )
    idle_waited = idle_sees_mail_from(cluster, boxes[1], watcher=0, sender=1)
    retrieved = []
    for box in boxes:
        retrieved += list(pop3_fetch_all(cluster.port("pop3"), box).values())
    acked = set(load.ledger.acked)
    extra = [m for m in retrieved if b"\r\nSubject: again " in m or b"\r\nSubject: idle" in m]
    again = [m for m in extra if b"Subject: again " in m]
    seen = check_retrieved([m for m in retrieved if m not in extra], load.ledger, acked)
    figures.record(
        "ha PostgreSQL restart mid-load",
        senders=4,
        seconds=LOAD_SECONDS,
        down_s=round(outage["up_at"] - outage["down_at"], 1),
        attempted=len(load.ledger.sent),
        acknowledged=len(acked),
        retrieved=len(seen),
        lost=len(acked - seen),
        refused_4xx=load.refusals("4"),
        refused_5xx=load.refusals("5"),
        connection_failures=sum(load.failures.values()),
        recovered_after_s=max(round(r, 1) for r in recovered),
        idle_notified_after_s=round(idle_waited, 1),
    )
    assert len(again) == 2 and idle_waited < 10  # NOTIFY listens again (poll is 60 s)
    assert load.refusals("4") > 0, "PostgreSQL was down and no delivery got a 4xx"
    assert load.refusals("5") == 0, load.ledger.refusals  # a sender must keep and retry
    assert len(acked) > 10


MIB = 1024 * 1024


def test_the_object_store_stopping_mid_data_gives_451_and_lists_nothing(cluster, figures):
    box = cluster.mailbox()
    cluster.start()
    node = cluster.nodes[0]
    send_to_node(node.ports["smtp"], box, b"Subject: before\r\n\r\nkept\r\n")
    message = make_message("mid-data", 24 * MIB, random.Random(7))
    wire = re.sub(rb"(?m)^\.", b"..", message)  # dot-stuffed, as smtplib.data would
    half = len(wire) // 2
    with smtplib.SMTP(
        "127.0.0.1", cluster.port("smtp"), timeout=120, source_address=(CLIENT, 0)
    ) as smtp:
        smtp.starttls(context=insecure_tls())
        smtp.ehlo("sender.example.org")
        assert smtp.mail("sender@example.org", [f"SIZE={len(message)}"])[0] == 250
        assert smtp.rcpt(box.address)[0] == 250
        assert smtp.docmd("DATA")[0] == 354
        smtp.send(wire[:half])
        time.sleep(1.0)  # the first part is on its way to the object store
        cluster.seaweed.kill()
        started = time.monotonic()
        smtp.send(wire[half:] + b".\r\n")
        code, reply = smtp.getreply()
        answered_after = time.monotonic() - started
    assert code == 451, (code, reply)
    listed = pop3_listing(cluster.port("pop3"), box)  # LIST needs no object store
    rows = cluster.index_query("SELECT count(*) FROM messages WHERE mailbox_id=%s", box.id)
    for n in (0, 1):  # /readyz answers 503: HAProxy takes the consoles out
        cluster.wait_state(n, "DOWN", ("web",))
    cluster.seaweed.start()
    for n in (0, 1):
        cluster.wait_state(n, "UP", ("web",), timeout=30)
    after = delivered_again(node.ports["smtp"], box, 1)
    stored = list(pop3_fetch_all(cluster.port("pop3"), box).values())
    figures.record(
        "ha object store killed mid-DATA",
        message_mib=24,
        reply=code,
        answered_after_s=round(answered_after, 1),
        listed_after=len(listed),
        index_rows_after=rows[0][0],
        delivered_again_after_s=round(after, 1),
    )
    assert len(listed) == 1 and rows == [(1,)]  # only the message from before
    assert len(stored) == 2 and stored[0].endswith(b"\r\nkept\r\n")
    assert b"mid-data" not in b"".join(stored)
    assert all(n.alive() for n in cluster.nodes)


def pop3_listing(port: int, box) -> list[bytes]:
    """UIDL of every listed message (no RETR: it would need the object store)."""
    client = poplib.POP3("127.0.0.1", port, timeout=30)
    try:
        pop3_login(client, box)
        listing = client.uidl()[1]
        client.quit()
    finally:
        client.close()
    return listing
