"""Shared pieces of the reliability suite.

A `gateway serve` subprocess that can be killed with SIGKILL and measured from /proc;
mailboxes arranged through the store API before the server starts; SMTP senders that
remember exactly which messages got `250`; POP3 and IMAP retrievers; the checks every
test ends with (nothing acknowledged lost, nothing partial listed, a clean log).
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import poplib
import random
import re
import smtplib
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from storage import KdfParams, open_store
from tests.serve.conftest import FAST_ARGON, GATEWAY, GatewayProcess, insecure_tls

DOMAIN = "example.test"
FAST_KDF = KdfParams(memory_kib=8192, iterations=1, lanes=1)
TIMEOUT = 30.0  # every client socket: a hang fails the test instead of stalling it

# What must never appear in the server's log: an exception nobody handled.
LOG_PROBLEMS = re.compile(
    r"Traceback|Unhandled|exception was never retrieved|Exception in callback"
    r"|Task was destroyed|CRITICAL"
)


# --- the server process ------------------------------------------------------------------
class Gateway(GatewayProcess):
    """`gateway serve` on free loopback ports; stdout and stderr captured line by line.

    Every instance is registered: conftest.py kills any still running after its test (or,
    for a module's shared server, after the module), whatever the test did.
    """

    started: list[Gateway] = []

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(data_dir, env=env)
        self.peak_kib = 0
        self.shared = False  # True: a module fixture owns it and stops it
        Gateway.started.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def smtp(self) -> int:
        return self.ports["smtp"]

    @property
    def pop3(self) -> int:
        return self.ports["pop3"]

    @property
    def imap(self) -> int:
        return self.ports["imap"]

    @property
    def web(self) -> int:
        return self.ports["web"]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.pid, 9)
        self.proc.wait(timeout=30)

    def wait_dead(self, timeout: float) -> bool:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def memory_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in KiB: the resident set now and its peak since start."""
        values = {}
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
        self.peak_kib = max(self.peak_kib, values["VmHWM"])
        return values["VmRSS"], values["VmHWM"]

    def open_sockets(self) -> int:
        """Sockets the server holds open (listeners and connections; not its files)."""
        count = 0
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            with contextlib.suppress(OSError):
                count += os.readlink(f"/proc/{self.pid}/fd/{fd}").startswith("socket:")
        return count

    def log_problems(self) -> list[str]:
        return [line for line in self.stderr if LOG_PROBLEMS.search(line)]

    def log_text(self) -> str:
        return "\n".join(self.stderr)

    def stop(self, timeout: float = 60) -> int:
        if self.alive():
            try:
                self.memory_kib()
            except (FileNotFoundError, ProcessLookupError, KeyError):
                pass
        return super().stop(timeout)


def cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GATEWAY, "--data", str(data_dir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **FAST_ARGON, **(env or {})},
        timeout=120,
        check=False,
    )


def fsck(data_dir: Path) -> subprocess.CompletedProcess:
    return cli(data_dir, "fsck")


# --- mailboxes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Box:
    id: str
    address: str
    passphrase: str


def make_mailboxes(data_dir: Path, count: int, kdf: KdfParams = FAST_KDF) -> list[Box]:
    """Mailboxes created through the store API (fast; the server is not running yet)."""
    store = open_store(data_dir, kdf=kdf)
    try:
        if not any(d.name == DOMAIN for d in store.domains.list()):
            store.domains.add(DOMAIN)
        boxes = []
        for _ in range(count):
            mailbox, passphrase = store.mailboxes.create(DOMAIN, actor=None)
            boxes.append(Box(mailbox.id, mailbox.address, passphrase))
        return boxes
    finally:
        store.close()


# --- messages -------------------------------------------------------------------------------
def make_message(canary: str, size: int, rng: random.Random) -> bytes:
    """A canonical CRLF message of about `size` bytes, unique and hard to compress."""
    head = (
        f"From: Reliability <sender@example.org>\r\n"
        f"To: journal@{DOMAIN}\r\n"
        f"Subject: canary {canary}\r\n"
        f"Message-ID: <{canary}@reliability.test>\r\n"
        f"\r\n"
    ).encode()
    lines = [head]
    total = len(head)
    while total < size:
        line = rng.randbytes(57).hex().encode()[:76]
        if rng.random() < 0.02:
            line = b"." + line  # dot-stuffing on the wire, never in the store
        lines.append(line + b"\r\n")
        total += len(line) + 2
    lines.append(f"-- end of {canary} --\r\n".encode())
    return b"".join(lines)


CANARY = re.compile(rb"^Subject: canary (\S+)\r$", re.MULTILINE)
TRACE_NAMES = (b"Return-Path:", b"Delivered-To:", b"X-Original-To:", b"Received:", b"\t")


def canary_of(stored: bytes) -> str:
    match = CANARY.search(stored)
    assert match, f"stored message without a canary: {stored[:300]!r}"
    return match.group(1).decode()


def split_trace(stored: bytes, original: bytes) -> bytes:
    """The gateway's trace header block in front of `original`; fails if anything else is."""
    assert stored.endswith(original), "stored message differs from what was sent"
    trace = stored[: len(stored) - len(original)]
    for line in trace.split(b"\r\n")[:-1]:
        assert line.startswith(TRACE_NAMES), f"unexpected line before the message: {line!r}"
    return trace


@dataclass
class Ledger:
    """Every message a client tried to send, and which of them got 250 (thread-safe)."""

    sent: dict[str, bytes] = field(default_factory=dict)  # canary -> message, every attempt
    acked: dict[str, str] = field(default_factory=dict)  # canary -> mailbox id
    refusals: dict[str, int] = field(default_factory=dict)  # reply code -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempt(self, canary: str, message: bytes) -> None:
        with self.lock:
            self.sent[canary] = message

    def ack(self, canary: str, mailbox_id: str) -> None:
        with self.lock:
            self.acked[canary] = mailbox_id

    def refused(self, code: int | str) -> None:
        with self.lock:
            key = str(code)
            self.refusals[key] = self.refusals.get(key, 0) + 1

    def acked_for(self, mailbox_id: str) -> set[str]:
        with self.lock:
            return {c for c, m in self.acked.items() if m == mailbox_id}


def smtp_session(port: int, source: str = "127.0.0.1", tls: bool = True) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT, source_address=(source, 0))
    if tls:
        client.starttls(context=insecure_tls())
    client.ehlo("sender.example.org")
    return client


def send_one(
    client: smtplib.SMTP,
    box: Box,
    canary: str,
    message: bytes,
    ledger: Ledger,
    declare_size: bool = True,
) -> int:
    """One transaction; the 250 counts only once the client has read it."""
    ledger.attempt(canary, message)
    options = [f"SIZE={len(message)}"] if declare_size else []
    code, _ = client.mail("sender@example.org", options)
    if code != 250:
        ledger.refused(code)
        client.rset()
        return code
    code, _ = client.rcpt(box.address)
    if code != 250:
        ledger.refused(code)
        client.rset()
        return code
    code, reply = client.data(message)
    if code == 250:
        ledger.ack(canary, box.id)
    else:
        ledger.refused(code)
    return code


def sender_loop(
    port: int,
    boxes: list[Box],
    ledger: Ledger,
    stop: threading.Event,
    seed: int,
    deadline: float,
    sizes: tuple[int, int] = (300, 150_000),
    source: str = "127.0.0.1",
) -> None:
    """Send until `stop`, the deadline, or the server goes away (it is being killed)."""
    rng = random.Random(seed)
    number = 0
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            client = smtp_session(port, source)
        except (OSError, smtplib.SMTPException):
            return  # the server is gone
        try:
            for _ in range(rng.randint(3, 20)):
                if stop.is_set() or time.monotonic() >= deadline:
                    break
                number += 1
                canary = f"s{seed}-{number}-{rng.getrandbits(32):08x}"
                size = rng.randint(*sizes)
                send_one(client, rng.choice(boxes), canary, make_message(canary, size, rng), ledger)
            client.quit()
        except (OSError, smtplib.SMTPException):
            return


# --- retrieval --------------------------------------------------------------------------------
def pop3_fetch_all(port: int, box: Box) -> dict[str, bytes]:
    """UIDL -> message, every listed message retrieved whole (poplib raises on a cut)."""
    client = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    client.stls(context=insecure_tls())
    client.user(box.address)
    client.pass_(box.passphrase)
    _, listing, _ = client.uidl()
    found = {}
    for entry in listing:
        number, uidl = entry.decode().split()
        _, lines, _ = client.retr(int(number))
        found[uidl] = b"\r\n".join(lines) + b"\r\n"
    client.quit()
    return found


def imap_fetch_all(port: int, box: Box) -> dict[int, bytes]:
    """UID -> message, every message in INBOX fetched with BODY.PEEK[]."""
    client = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    client.starttls(ssl_context=insecure_tls())
    client.login(box.address, box.passphrase)
    client.select("INBOX", readonly=True)
    found = {}
    typ, data = client.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
    assert typ == "OK", data
    for item in data:
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            found[uid] = item[1]
    client.logout()
    return found


def check_retrieved(stored: list[bytes], ledger: Ledger, acked: set[str]) -> set[str]:
    """Every stored message is one a client sent, byte for byte after the trace headers,
    and every acknowledged message is among them. Returns the canaries found."""
    seen: set[str] = set()
    for message in stored:
        canary = canary_of(message)
        assert canary in ledger.sent, f"stored message {canary} was never sent"
        split_trace(message, ledger.sent[canary])
        seen.add(canary)
    lost = acked - seen
    assert not lost, f"{len(lost)} acknowledged messages lost: {sorted(lost)[:5]}"
    return seen
