"""What two nodes share through PostgreSQL and the object store, and what they must not
leave there: no plaintext at rest, exact quotas under concurrent deliveries on both
nodes, and one console session valid on every node."""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import smtplib
import ssl
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.reliability.support import insecure_tls, pop3_fetch_all
from tests.support.acme import first_admin_password
from tests.support.ha import NodeSMTP, send_to_node

pytestmark = pytest.mark.external


def files_containing(roots: list[Path], needles: dict[str, bytes]) -> dict[str, list[str]]:
    """{needle name: [files holding it]} over every regular file under `roots`."""
    found: dict[str, list[str]] = {name: [] for name in needles}
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            try:
                content = path.read_bytes()
            except OSError:
                continue  # a file the server removed while we walked
            for name, needle in needles.items():
                if needle in content:
                    found[name].append(str(path))
    return {name: paths for name, paths in found.items() if paths}


def test_no_plaintext_reaches_postgresql_or_the_object_store(cluster, figures):
    box = cluster.mailbox()
    cluster.start()
    canary = secrets.token_hex(12)
    needles = {
        "body": f"body-canary-{canary}".encode(),
        "subject": f"subject-canary-{canary}".encode(),
        "sender": f"sender-canary-{canary}@example.org".encode(),
        "passphrase": box.passphrase.encode(),
    }
    message = (
        f"From: Canary <{needles['sender'].decode()}>\r\n"
        f"Subject: {needles['subject'].decode()}\r\n\r\n"
        f"{needles['body'].decode()}\r\n"
    ).encode()
    for node in cluster.nodes:
        send_to_node(node.ports["smtp"], box, message, sender=needles["sender"].decode())
    stored = pop3_fetch_all(cluster.port("pop3"), box)  # the passphrase crosses the wire
    assert sum(needles["body"] in m for m in stored.values()) == 2  # it was really stored
    with cluster.postgres.admin_connection() as conn:
        conn.execute("CHECKPOINT")  # everything in shared buffers goes to the data files
    roots = [cluster.postgres.data, cluster.seaweed.data, *(n.data_dir for n in cluster.nodes)]
    leaked = files_containing(roots, needles)
    figures.record(
        "ha no plaintext at rest",
        needles=len(needles),
        files_scanned=sum(1 for root in roots for p in root.rglob("*") if p.is_file()),
        leaks=sum(len(paths) for paths in leaked.values()),
    )
    assert leaked == {}


QUOTA = 200_000
MESSAGE_SIZE = 20_000
SENDERS_PER_NODE = 3


def fill_message() -> bytes:
    """MESSAGE_SIZE random hex digits in lines: always the same length."""
    body = os.urandom(MESSAGE_SIZE // 2).hex().encode()
    return b"Subject: fill\r\n\r\n" + re.sub(rb"(.{76})", rb"\1\r\n", body) + b"\r\n"


def fill(port: int, box, outcomes: list[int], lock: threading.Lock) -> None:
    """Deliver incompressible messages into one node until it says the mailbox is full."""
    for _ in range(15):
        message = fill_message()
        try:
            with NodeSMTP(port) as smtp:
                smtp.starttls(context=insecure_tls())
                smtp.sendmail("sender@example.org", [box.address], message)
            code = 250
        except smtplib.SMTPRecipientsRefused as exc:
            ((code, _),) = exc.recipients.values()
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
        with lock:
            outcomes.append(code)
        if code != 250:
            return


def test_a_quota_holds_exactly_under_concurrent_deliveries_on_both_nodes(cluster, figures):
    box = cluster.mailbox("--quota", str(QUOTA))
    cluster.start()
    outcomes: list[int] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=fill, args=(node.ports["smtp"], box, outcomes, lock))
        for node in cluster.nodes
        for _ in range(SENDERS_PER_NODE)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    sizes = [
        row[0]
        for row in cluster.index_query(
            "SELECT stored_size FROM messages WHERE mailbox_id=%s", box.id
        )
    ]
    ((counted, count),) = cluster.index_query(
        "SELECT stored_bytes, message_count FROM mailboxes WHERE id=%s", box.id
    )
    listed = pop3_fetch_all(cluster.port("pop3"), box)
    figures.record(
        "ha quota under concurrent deliveries on two nodes",
        senders=len(threads),
        quota=QUOTA,
        acknowledged=outcomes.count(250),
        listed=len(listed),
        stored_bytes=counted,
        refused_452=outcomes.count(452),
        other_replies=len([c for c in outcomes if c not in (250, 452)]),
    )
    assert outcomes.count(250) == len(listed) == len(sizes) == count  # nothing lost or extra
    assert counted == sum(sizes)  # no lost update of the mailbox's byte count
    assert sum(sizes) - max(sizes) < QUOTA  # admitted only while under the quota
    # Refused only once it was full: RCPT refuses when the stored bytes plus the declared
    # SIZE (the message as sent; stored compressed, it takes less) would pass the quota.
    assert sum(sizes) + len(fill_message()) > QUOTA
    # A delivery that found room at RCPT but lost the race to the commit is told the
    # mailbox is full (452 4.2.2), not a storage error (451), and nothing is logged as one.
    assert set(outcomes) <= {250, 452} and outcomes.count(452) == len(threads), outcomes
    for node in cluster.nodes:
        assert not node.log_problems() and "storing a message failed" not in node.log_text()


def console(port: int, jar: http.cookiejar.CookieJar):
    """An opener for one node's console: the node's own self-signed certificate, the
    shared cookie jar (cookies carry no port: the session cookie goes to both nodes)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), urllib.request.HTTPCookieProcessor(jar)
    )
    base = f"https://127.0.0.1:{port}"

    def request(path: str, form: dict | None = None) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        with opener.open(base + path, data, timeout=30) as answer:
            return answer.status, answer.url, answer.read().decode()

    return request


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_a_console_session_made_on_one_node_works_on_the_other(cluster):
    box = cluster.mailbox()
    cluster.start()
    password = first_admin_password(cluster.nodes[0].stdout)
    jar = http.cookiejar.CookieJar()
    node1, node2 = (console(node.ports["web"], jar) for node in cluster.nodes)
    _, _, page = node1("/login")
    form = {"username": "admin", "password": password, "code": "", "csrf_token": csrf_token(page)}
    status, url, _ = node1("/login", form)
    assert status == 200 and url.endswith("/mailboxes")
    status, url, page = node2("/mailboxes")  # signed in on node 1, used on node 2
    assert status == 200 and url.endswith("/mailboxes") and box.address in page
    _, _, page = node2("/domains")
    status, url, page = node2("/domains", {"name": "second.test", "csrf_token": csrf_token(page)})
    assert status == 200 and "Domain second.test added." in page
    assert "second.test" in node1("/domains")[2]
    fresh = console(cluster.nodes[1].ports["web"], http.cookiejar.CookieJar())
    assert fresh("/mailboxes")[1].split("?", 1)[0].endswith("/login")  # the cookie did it
