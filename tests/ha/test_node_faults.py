"""A node dies (kill -9): under sustained SMTP load through HAProxy, and while it holds a
POP3 session's mailbox lock. Two real nodes on PostgreSQL + SeaweedFS behind HAProxy."""

from __future__ import annotations

import poplib
import time

import pytest

from tests.reliability.support import check_retrieved, pop3_fetch_all
from tests.support.ha import LOCK_TTL, NodePOP3, pop3_login, run_load, send_to_node

pytestmark = pytest.mark.external
LOAD_SECONDS = 12.0
KILL_AFTER = 4.0


def test_kill_9_of_one_node_under_load_loses_no_acknowledged_message(cluster, figures):
    boxes = [cluster.mailbox(), cluster.mailbox()]
    cluster.start()
    victim = cluster.nodes[1]
    killed_at: list[float] = []

    def kill_one(started: float) -> None:
        time.sleep(KILL_AFTER)
        victim.kill9()
        killed_at.append(time.monotonic() - started)

    load = run_load(cluster.port("smtp"), boxes, LOAD_SECONDS, during=kill_one)
    cluster.wait_state(1, "DOWN")
    retrieved = []
    for box in boxes:  # through HAProxy: only the surviving node answers now
        retrieved += list(pop3_fetch_all(cluster.port("pop3"), box).values())
    acked = set(load.ledger.acked)
    seen = check_retrieved(retrieved, load.ledger, acked)  # byte-identical, none partial
    survivor = cluster.nodes[0]
    assert survivor.alive() and not survivor.log_problems(), survivor.log_problems()
    figures.record(
        "ha kill -9 one of two nodes under load",
        senders=4,
        seconds=LOAD_SECONDS,
        killed_after_s=round(killed_at[0], 1),
        attempted=len(load.ledger.sent),
        acknowledged=len(acked),
        retrieved=len(seen),
        committed_unacknowledged=len(seen - acked),
        lost=len(acked - seen),
        refused_4xx=load.refusals("4"),
        refused_5xx=load.refusals("5"),
        connection_failures=sum(load.failures.values()),
    )
    assert len(acked) > 20, "the load was too light to mean anything"
    assert load.refusals("5") == 0, load.ledger.refusals


def in_use(port: int, box) -> bool:
    """True when the node answers [IN-USE]; False when it opens the mailbox (then QUIT)."""
    client = NodePOP3(port)
    try:
        pop3_login(client, box)
    except poplib.error_proto as exc:
        assert b"[IN-USE]" in exc.args[0], exc.args[0]
        return True
    finally:
        client.close()
    return False


def test_a_dead_nodes_pop3_lock_holds_until_its_lease_runs_out(cluster, figures):
    box = cluster.mailbox()
    cluster.start()
    node1, node2 = cluster.nodes
    for n in range(3):
        send_to_node(node2.ports["smtp"], box, f"Subject: {n}\r\n\r\nx\r\n".encode())
    holder = pop3_login(NodePOP3(node1.ports["pop3"]), box)
    assert holder.stat()[0] == 3
    assert in_use(node2.ports["pop3"], box)  # one session per mailbox, across nodes
    node1.kill9()
    killed = time.monotonic()
    assert in_use(node2.ports["pop3"], box), "the lock went with the process, not the lease"
    while in_use(node2.ports["pop3"], box):
        assert time.monotonic() - killed < LOCK_TTL + 5, "the lease never ran out"
        time.sleep(0.25)
    released_after = time.monotonic() - killed
    served = pop3_login(NodePOP3(node2.ports["pop3"]), box)
    assert served.stat()[0] == 3
    served.quit()
    figures.record(
        "ha kill -9 of the node holding a POP3 lock",
        lock_ttl_s=LOCK_TTL,
        released_after_s=round(released_after, 1),
        messages_served_after=3,
    )
    assert released_after <= LOCK_TTL + 2
