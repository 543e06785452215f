"""Load generators: SMTP/LMTP delivery and POP3 retrieval, over STARTTLS/STLS.

Small hand-written asyncio clients rather than aiosmtplib/poplib: on a 2-core machine
the client shares the CPU with the server under test, so it must cost as little as
possible (messages are built once and sent as memoryview slices; POP3 replies are read
in blocks, not lines). Every reply is checked; anything unexpected raises.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import random
import ssl
import statistics
import time
from dataclasses import dataclass, field

SEND_SLICE = 1024 * 1024
READ_BLOCK = 1024 * 1024
REPLY_TIMEOUT = 300.0  # seconds for any one reply (a 100 MiB commit included)
WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there one all we their been has when who will "
    "more no if out so said what up its about into than them can only other new some could "
    "time these two may then do first any my now such like our over man me even most made "
    "after also did many before must through back years where much your way well down "
    "journal archive invoice contract meeting quarterly report compliance retention legal "
    "counsel please attached regards thanks schedule review approve budget forecast"
).split()


class ProtocolError(RuntimeError):
    pass


@functools.cache
def client_tls() -> ssl.SSLContext:
    """One client context for the whole run, as an archiver keeps one: making a default
    context loads the system CA bundle (~45 ms here), which would add the same large
    constant to every subject's login latency and hide the servers' own."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def make_body(size: int, seed: int = 1) -> bytes:
    """A journal-like MIME body of about `size` bytes: 1/4 text, 3/4 base64 attachment.

    The attachment is random, so it compresses like real attachments (to ~75 %), and
    no line starts with '.', so the same bytes are valid DATA without dot-stuffing.
    """
    rng = random.Random(seed)
    text_size = size // 4
    text_block = min(text_size, 4 * 1024 * 1024)
    words = " ".join(rng.choices(WORDS, k=text_block // 5 + 16)).encode()
    lines = []
    for start in range(0, len(words), 72):
        lines.append(words[start : start + 72].strip())
    text = b"\r\n".join(lines)
    text = (text * (text_size // max(len(text), 1) + 1))[:text_size]
    text = text[: text.rfind(b"\r\n") + 2] if b"\r\n" in text else text + b"\r\n"
    attach_size = max(0, size - len(text) - 400)
    raw = rng.randbytes(attach_size * 3 // 4 + 3)
    attachment = base64.encodebytes(raw).replace(b"\n", b"\r\n")[:attach_size]
    attachment = attachment[: attachment.rfind(b"\r\n") + 2] if attachment else b""
    body = (
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="=_bench_boundary"\r\n\r\n'
        b"--=_bench_boundary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + text
        + b"--=_bench_boundary\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="data.bin"\r\n\r\n'
        + attachment
        + b"--=_bench_boundary--\r\n"
    )
    assert b"\r\n." not in body and not body.startswith(b".")
    return body


def make_header(seq: int, rcpt: str) -> bytes:
    return (
        f"From: Bench Sender <bench@example.org>\r\n"
        f"To: <{rcpt}>\r\n"
        f"Subject: benchmark message {seq}\r\n"
        f"Message-ID: <{seq}.{os.getpid()}.{time.time_ns()}@bench.example.org>\r\n"
        f"Date: Sat, 21 Nov 2026 07:00:00 +0000\r\n"
    ).encode()


# --- shared line protocol helpers ---------------------------------------------------------
async def _reply(reader: asyncio.StreamReader) -> tuple[int, str]:
    """One (possibly multi-line) SMTP/LMTP reply."""
    lines = []
    while True:
        line = await asyncio.wait_for(reader.readline(), REPLY_TIMEOUT)
        if not line:
            raise ProtocolError("connection closed by the server")
        lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            break
    try:
        code = int(lines[-1][:3])
    except ValueError:
        raise ProtocolError(f"bad reply {lines[-1]!r}") from None
    return code, "\n".join(lines)


async def _expect(reader: asyncio.StreamReader, ok: int, what: str) -> str:
    code, text = await _reply(reader)
    if code != ok:
        raise ProtocolError(f"{what}: expected {ok}, got {text!r}")
    return text


async def _command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str, ok: int
) -> str:
    writer.write(line.encode() + b"\r\n")
    return await _expect(reader, ok, line.split(" ", 1)[0])


# --- SMTP / LMTP ---------------------------------------------------------------------------
@dataclass
class LoadResult:
    """Messages and bytes moved, wall time, per-message latencies, client CPU."""

    messages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0

    def summary(self) -> dict:
        return {
            "messages": self.messages,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "msgs_per_s": self.messages / self.seconds if self.seconds else 0.0,
            "mb_per_s": self.bytes / 1e6 / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p99_ms": percentile(self.latencies, 99) * 1000,
            "client_cpu_s": round(self.client_cpu, 2),
        }


DeliveryResult = LoadResult


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def _smtp_open(
    host: str, port: int, lmtp: bool, tls: ssl.SSLContext
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
    """Connect, EHLO/LHLO, STARTTLS, EHLO/LHLO again; also whether SIZE= is offered."""
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    hello = "LHLO" if lmtp else "EHLO"
    await _expect(reader, 220, "greeting")
    caps = await _command(reader, writer, f"{hello} bench.example.org", 250)
    if "STARTTLS" not in caps.upper():
        raise ProtocolError(f"{host}:{port} does not offer STARTTLS")
    await _command(reader, writer, "STARTTLS", 220)
    await writer.start_tls(tls, server_hostname="localhost")
    caps = await _command(reader, writer, f"{hello} bench.example.org", 250)
    offers_size = any(line[4:].upper().startswith("SIZE") for line in caps.splitlines())
    return reader, writer, offers_size


async def _smtp_connection(
    host: str,
    port: int,
    lmtp: bool,
    count: int,
    body: bytes,
    rcpt: str,
    index: int,
    result: DeliveryResult,
    gate: _Gate,
) -> None:
    tls = client_tls()
    reader, writer, offers_size = await _smtp_open(host, port, lmtp, tls)
    gate.ready += 1
    await gate.go.wait()
    view = memoryview(body)
    try:
        for seq in range(count):
            header = make_header(index * 1_000_000 + seq, rcpt)
            size = len(header) + 2 + len(body)
            began = time.perf_counter()
            size_param = f" SIZE={size}" if offers_size else ""
            await _command(reader, writer, f"MAIL FROM:<bench@example.org>{size_param}", 250)
            await _command(reader, writer, f"RCPT TO:<{rcpt}>", 250)
            await _command(reader, writer, "DATA", 354)
            writer.write(header + b"\r\n")
            for start in range(0, len(body), SEND_SLICE):
                writer.write(view[start : start + SEND_SLICE])
                await writer.drain()
            writer.write(b".\r\n")
            await _expect(reader, 250, "end of DATA")
            result.latencies.append(time.perf_counter() - began)
            result.messages += 1
            result.bytes += size
        writer.write(b"QUIT\r\n")
        await _expect(reader, 221, "QUIT")
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass


async def deliver(
    host: str,
    port: int,
    *,
    connections: int,
    messages: int,
    body: bytes,
    rcpts: list[str],
    lmtp: bool = False,
) -> DeliveryResult:
    """`connections` sessions × `messages` messages; connection i sends to rcpts[i % n].

    The clock starts once every session has done EHLO/STARTTLS/EHLO.
    """
    result = DeliveryResult()
    gate = _Gate()
    cpu0 = time.process_time()
    tasks = [
        asyncio.create_task(
            _smtp_connection(
                host, port, lmtp, messages, body, rcpts[i % len(rcpts)], i, result, gate
            )
        )
        for i in range(connections)
    ]
    try:
        await _wait_ready(tasks, gate)
        began = time.perf_counter()
        gate.go.set()
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - began
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result.client_cpu = time.process_time() - cpu0
    return result


class _Gate:
    """Sessions count themselves ready, then wait for `go`."""

    def __init__(self) -> None:
        self.ready = 0
        self.go = asyncio.Event()


async def _wait_ready(tasks: list[asyncio.Task], gate: _Gate) -> None:
    """Wait until every session is connected and waiting (or one failed)."""
    while gate.ready < len(tasks):
        await asyncio.sleep(0.02)
        for task in tasks:
            if task.done():
                task.result()  # raises the session's error


# --- POP3 ----------------------------------------------------------------------------------
RetrievalResult = LoadResult  # the same figures for POP3 retrieval


class Pop3:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def login(cls, host: str, port: int, user: str, password: str) -> Pop3:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        session = cls(reader, writer)
        try:
            await session._status("greeting")
            await session.command("STLS")
            await writer.start_tls(client_tls(), server_hostname="localhost")
            await session.command(f"USER {user}")
            await session.command(f"PASS {password}", what="PASS")
        except BaseException:
            await session.close()
            raise
        return session

    async def _status(self, what: str) -> str:
        line = await asyncio.wait_for(self.reader.readline(), REPLY_TIMEOUT)
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text.startswith("+OK"):
            raise ProtocolError(f"{what}: {text or 'connection closed'!r}")
        return text

    async def command(self, line: str, what: str | None = None) -> str:
        self.writer.write(line.encode() + b"\r\n")
        return await self._status(what or line)

    async def stat(self) -> tuple[int, int]:
        parts = (await self.command("STAT")).split()
        return int(parts[1]), int(parts[2])

    async def retr(self, number: int) -> int:
        """RETR one message, reading blocks until CRLF.CRLF; returns bytes on the wire."""
        await self.command(f"RETR {number}")
        tail = b"\r\n"  # the status line's CRLF precedes the first message line
        total = 0
        reader = self.reader
        while True:
            block = await asyncio.wait_for(reader.read(READ_BLOCK), REPLY_TIMEOUT)
            if not block:
                raise ProtocolError("connection closed during RETR")
            total += len(block)
            tail = (tail + block)[-5:] if len(block) < 5 else block[-5:]
            if tail == b"\r\n.\r\n":
                return total

    async def quit(self) -> None:
        try:
            await self.command("QUIT")
        finally:
            await self.close()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass


async def open_sessions(host: str, port: int, logins: list[tuple[str, str]]) -> list[Pop3]:
    """Log every (user, password) in at once; all or none."""
    results = await asyncio.gather(
        *(Pop3.login(host, port, u, p) for u, p in logins), return_exceptions=True
    )
    sessions = [r for r in results if isinstance(r, Pop3)]
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        raise errors[0]
    return sessions


async def retrieve(sessions: list[Pop3], ranges: list[tuple[int, int]]) -> RetrievalResult:
    """All sessions at once; session i RETRs messages ranges[i][0] .. ranges[i][1] - 1
    (POP3 numbers start at 1), then QUITs (outside the clock). Sessions are closed."""
    result = RetrievalResult()
    cpu0 = time.process_time()
    try:
        began = time.perf_counter()

        async def one(session: Pop3, first: int, stop: int) -> None:
            count, _ = await session.stat()
            if stop - 1 > count:
                raise ProtocolError(f"mailbox has {count} messages, expected {stop - 1}")
            for number in range(first, stop):
                t0 = time.perf_counter()
                size = await session.retr(number)
                result.latencies.append(time.perf_counter() - t0)
                result.bytes += size  # not `+= await`: that would lose concurrent updates
                result.messages += 1

        await asyncio.gather(*(one(s, *r) for s, r in zip(sessions, ranges, strict=True)))
        result.seconds = time.perf_counter() - began
        await asyncio.gather(*(s.quit() for s in sessions))
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
    result.client_cpu = time.process_time() - cpu0
    return result


async def mailbox_counts(host: str, port: int, logins: list[tuple[str, str]]) -> list[int]:
    """STAT of every mailbox, one login after the other."""
    counts = []
    for user, password in logins:
        session = await Pop3.login(host, port, user, password)
        try:
            counts.append((await session.stat())[0])
        finally:
            await session.quit()
    return counts


async def login_latency(host: str, port: int, user: str, password: str, rounds: int) -> dict:
    """connect + STLS + USER + PASS, `rounds` times in a row; QUIT outside the clock."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        session = await Pop3.login(host, port, user, password)
        times.append(time.perf_counter() - t0)
        await session.quit()
    return {
        "rounds": rounds,
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "max_ms": max(times) * 1000,
    }
