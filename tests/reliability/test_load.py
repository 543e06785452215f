"""200 SMTP connections and 50 POP3/IMAP sessions at once, for a bounded time.

The connection caps are set below the load (smtp.max_connections=150,
smtp.max_connections_per_ip=45; clients from four loopback addresses, 80 connections
from one and 40 from each of the others): the excess is refused with `421 4.7.0` and
retries later, as an MTA would. Admitted SMTP clients hold their connection for the
whole run and send messages over STARTTLS; 10 POP3 sessions (one per mailbox, the
POP3 rule) and 40 IMAP sessions read mail at the same time. Afterwards: the caps were
never exceeded, the server never crashed or logged an unhandled exception, its peak
resident memory stayed under a generous safety bound, and every acknowledged message
is retrievable.
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import random
import smtplib
import threading
import time

import pytest

from .support import (
    Box,
    Gateway,
    Ledger,
    check_retrieved,
    fsck,
    imap_fetch_all,
    insecure_tls,
    make_mailboxes,
    make_message,
    send_one,
)

pytestmark = pytest.mark.timeout(240)  # hang detection, not a speed target

DURATION = 20.0
# source address -> SMTP connections from it (200 in all)
SOURCES = {"127.0.0.2": 80, "127.0.0.3": 40, "127.0.0.4": 40, "127.0.0.5": 40}
SMTP_CONNECTIONS = sum(SOURCES.values())
MAX_CONNECTIONS = 150
MAX_PER_IP = 45
POP3_SESSIONS = 10
IMAP_SESSIONS = 40
MAILBOXES = 10
# Safety bound on the server's peak resident set (not a speed or efficiency target):
# the idle server was ~60 MiB and the peak under this load ~270 MiB; 150 sessions each
# holding at most two 128 KiB write batches and a 256 KiB read block, plus TLS state
# and 50 retrieval sessions, stay below it. A leak per connection or message would not.
PEAK_RSS_BOUND_MIB = 600


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.events: dict[str, int] = {}

    def enter(self, key: str) -> None:
        with self.lock:
            for k in (key, "all"):
                self.now[k] = self.now.get(k, 0) + 1
                self.peak[k] = max(self.peak.get(k, 0), self.now[k])

    def leave(self, key: str) -> None:
        with self.lock:
            for k in (key, "all"):
                self.now[k] -= 1

    def count(self, event: str) -> None:
        with self.lock:
            self.events[event] = self.events.get(event, 0) + 1


def smtp_client(
    port: int,
    source: str,
    boxes: list[Box],
    ledger: Ledger,
    load: Counter,
    deadline: float,
    seed: int,
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        try:
            client = smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0))
        except smtplib.SMTPConnectError as exc:
            load.count(f"greeting {exc.smtp_code} {exc.smtp_error.split()[0].decode()}")
            time.sleep(rng.uniform(0.5, 1.5))  # an MTA retries later
            continue
        # Admitted: hold the connection until the deadline, sending now and then.
        load.enter(source)
        try:
            client.starttls(context=insecure_tls())
            client.ehlo("load.example.org")
            number = 0
            while time.monotonic() < deadline:
                number += 1
                canary = f"l{seed}-{number}-{rng.getrandbits(32):08x}"
                message = make_message(canary, rng.randint(300, 20_000), rng)
                code = send_one(client, rng.choice(boxes), canary, message, ledger)
                load.count(f"data {code}")
                time.sleep(rng.uniform(0.2, 1.5))
            client.quit()
        finally:
            load.leave(source)
            with contextlib.suppress(OSError):
                client.close()
        return


def pop3_reader(port: int, box: Box, load: Counter, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        client = poplib.POP3("127.0.0.1", port, timeout=30)
        try:
            client.stls(context=insecure_tls())
            client.user(box.address)
            client.pass_(box.passphrase)
            count, _ = client.stat()
            for number in rng.sample(range(1, count + 1), min(count, 3)):
                client.retr(number)
                load.count("pop3 retr")
            client.quit()
            load.count("pop3 session")
        finally:
            client.close()
        time.sleep(rng.uniform(0.1, 0.5))


def imap_reader(port: int, box: Box, load: Counter, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    client = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        client.starttls(ssl_context=insecure_tls())
        client.login(box.address, box.passphrase)
        while time.monotonic() < deadline:
            typ, _ = client.select("INBOX", readonly=True)
            assert typ == "OK"
            typ, data = client.uid("SEARCH", "ALL")
            assert typ == "OK"
            uids = data[0].split()
            for uid in rng.sample(uids, min(len(uids), 2)):
                typ, _ = client.uid("FETCH", uid.decode(), "(BODY.PEEK[] FLAGS)")
                assert typ == "OK"
                load.count("imap fetch")
            client.noop()
            time.sleep(rng.uniform(0.2, 1.0))
        client.logout()
        load.count("imap session")
    finally:
        with contextlib.suppress(OSError):
            client.shutdown()


def test_load_with_connection_caps(tmp_path, figures) -> None:
    data = tmp_path / "data"
    boxes = make_mailboxes(data, MAILBOXES)
    gateway = Gateway(
        data,
        env={
            "GATEWAY_SMTP__MAX_CONNECTIONS": str(MAX_CONNECTIONS),
            "GATEWAY_SMTP__MAX_CONNECTIONS_PER_IP": str(MAX_PER_IP),
        },
    )
    gateway.wait_ready()
    ledger = Ledger()
    load = Counter()
    errors: list[BaseException] = []
    samples: list[tuple[int, int]] = []
    try:
        baseline_rss, _ = gateway.memory_kib()
        deadline = time.monotonic() + DURATION
        threads = []

        def guarded(target, *args) -> None:
            try:
                target(*args)
            except BaseException as exc:  # reported by the test
                errors.append(exc)

        sources = [source for source, n in SOURCES.items() for _ in range(n)]
        random.Random(3).shuffle(sources)
        for index, source in enumerate(sources):
            args = (gateway.smtp, source, boxes, ledger, load, deadline, index)
            threads.append(threading.Thread(target=guarded, args=(smtp_client, *args)))
        # Retrieval starts once some mail is in.
        for index in range(POP3_SESSIONS):
            args = (gateway.pop3, boxes[index], load, deadline, 1000 + index)
            threads.append(threading.Thread(target=guarded, args=(pop3_reader, *args)))
        for index in range(IMAP_SESSIONS):
            args = (gateway.imap, boxes[index % MAILBOXES], load, deadline, 2000 + index)
            threads.append(threading.Thread(target=guarded, args=(imap_reader, *args)))
        for thread in threads:
            thread.daemon = True
            thread.start()
        while time.monotonic() < deadline:
            samples.append(gateway.memory_kib())
            assert gateway.alive(), "the server died under load"
            time.sleep(0.5)
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a client hung"
        assert not errors, f"{len(errors)} client errors, first: {errors[0]!r}"

        # The caps held and the excess was refused with 421 4.7.0, nothing else.
        assert load.peak["all"] <= MAX_CONNECTIONS
        assert all(load.peak[s] <= MAX_PER_IP for s in SOURCES)
        refusals = {k: v for k, v in load.events.items() if k.startswith("greeting")}
        assert set(refusals) == {"greeting 421 4.7.0"}, refusals
        assert refusals["greeting 421 4.7.0"] >= SMTP_CONNECTIONS - MAX_CONNECTIONS
        data_replies = {k for k in load.events if k.startswith("data")}
        assert data_replies == {"data 250"}, load.events
        assert load.events.get("pop3 retr", 0) > 0 and load.events.get("imap fetch", 0) > 0

        # Memory stayed bounded.
        _, peak = gateway.memory_kib()
        assert peak < PEAK_RSS_BOUND_MIB * 1024, f"peak RSS {peak // 1024} MiB"

        # Every acknowledged message is there, whole.
        total = 0
        for box in boxes:
            stored = imap_fetch_all(gateway.imap, box)
            check_retrieved(list(stored.values()), ledger, ledger.acked_for(box.id))
            total += len(stored)
        assert not gateway.log_problems(), gateway.log_problems()
    finally:
        assert gateway.stop() == 0
    checked = fsck(data)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    figures.record(
        "load",
        seconds=DURATION,
        smtp_connections_attempted=SMTP_CONNECTIONS,
        smtp_peak_concurrent=load.peak["all"],
        smtp_peak_per_ip={s: load.peak[s] for s in SOURCES},
        refused_421=load.events.get("greeting 421 4.7.0", 0),
        acknowledged=len(ledger.acked),
        retrieved_after=total,
        lost=0,
        pop3_sessions=load.events.get("pop3 session", 0),
        pop3_retr=load.events.get("pop3 retr", 0),
        imap_fetches=load.events.get("imap fetch", 0),
        baseline_rss_mib=baseline_rss // 1024,
        peak_rss_mib=peak // 1024,
    )
