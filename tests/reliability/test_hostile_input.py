"""Hostile bytes at every listener of one running gateway: no crash, no hang, no
unhandled exception in its log, and every reply well-formed.

- Property-based (hypothesis, bounded): command streams built from each protocol's
  verbs and hostile arguments (NUL, invalid UTF-8, bare CR/LF, huge values), and
  plain random byte streams, sent to SMTP, POP3, IMAP and the console (over TLS).
  The SMTP and POP3 command parsers are not separable from their sessions (aiosmtpd,
  the POP3 engine), so they are fuzzed at the socket; IMAP's parser alone is fuzzed in
  tests/imap/test_fuzz.py, here it gets raw streams.
- Fixed cases: a 2 MiB line, NUL bytes, invalid UTF-8, 4 MiB of random bytes, each
  followed by a real command the server must still answer (or a clean close).
- STARTTLS command injection: bytes pipelined after STARTTLS/STLS in the same packet
  arrived in clear and must be discarded, never answered inside TLS.

Replies are checked line by line: SMTP `ddd[ -]`, POP3 `+OK`/`-ERR`/`+ ` (and the lines
of a multi-line answer), IMAP untagged `*`, continuation `+` or `tag OK|NO|BAD`, HTTP
a status line. Every connection ends with a half-close: the server must then close too.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import ssl
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import Gateway, insecure_tls, make_mailboxes

pytestmark = pytest.mark.timeout(120)  # hang detection, not a speed target

EXAMPLES = 200  # per command fuzz test (a few ms each on loopback)
NOISE_EXAMPLES = 60  # random streams: five connections each, some end by a 2 s timeout
TIMEOUT = 15.0  # a socket read waiting longer than this is a hang
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# Nothing an unauthenticated client sends may produce an error or traceback in the log.
PROBLEM = re.compile(r"Traceback|Unhandled|exception was never retrieved|ERROR|CRITICAL")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile") / "data"
    (box,) = make_mailboxes(data, 1)
    # The console cannot see a TLS half-close: its idle timeout ends unfinished requests.
    server = Gateway(
        data, env={"GATEWAY_SMTP__IDLE_TIMEOUT": "10", "GATEWAY_WEB__IDLE_TIMEOUT": "2"}
    )
    server.box = box  # type: ignore[attr-defined]
    server.shared = True
    server.wait_ready()
    yield server
    assert server.stop() == 0
    problems = [line for line in server.stderr if PROBLEM.search(line)]
    assert not problems, problems  # also what was logged after the last test's check


@pytest.fixture
def healthy(gateway: Gateway):
    """After each test: the server is alive, answers, and logged nothing unhandled."""
    yield gateway
    assert gateway.alive(), "the server died"
    sock = socket.create_connection(("127.0.0.1", gateway.smtp), timeout=TIMEOUT)
    with sock:
        assert sock.recv(1024).startswith(b"220 ")
        sock.sendall(b"QUIT\r\n")
        assert b"221" in exchange_until_closed(sock, b"")
    problems = [line for line in gateway.stderr if PROBLEM.search(line)]
    assert not problems, problems


# --- talking ------------------------------------------------------------------------------
def exchange_until_closed(sock: socket.socket | ssl.SSLSocket, payload: bytes) -> bytes:
    """Send `payload`, half-close, and read until the server closes (or resets)."""
    sock.settimeout(TIMEOUT)
    received = b""
    try:
        sock.sendall(payload)
        if not isinstance(sock, ssl.SSLSocket):  # TLS has no half-close: web.idle_timeout
            sock.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass  # the server closed first: what it said is read below
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except (ConnectionResetError, ssl.SSLError, ssl.SSLEOFError):
        pass
    except TimeoutError:
        raise AssertionError(f"no close after {TIMEOUT} s; got {received[-300:]!r}") from None
    return received


def session(port: int, payload: bytes, tls: bool = False) -> bytes:
    sock: socket.socket | ssl.SSLSocket = socket.create_connection(
        ("127.0.0.1", port), timeout=TIMEOUT
    )
    if tls:
        sock = insecure_tls().wrap_socket(sock)
    with sock:
        return exchange_until_closed(sock, payload)


# --- reply grammar --------------------------------------------------------------------------
def lines_of(data: bytes) -> list[bytes]:
    if not data:
        return []
    assert data.endswith(b"\r\n"), f"reply cut mid-line: {data[-200:]!r}"
    return data[:-2].split(b"\r\n")


SMTP_LINE = re.compile(rb"\A[2-5]\d\d([ -].*)?\Z", re.S)
POP3_LINE = re.compile(rb"\A(\+OK|-ERR)( .*)?\Z|\A\+ ?\Z", re.S)
POP3_MULTI = (b"+OK capability list follows", b"+OK supported SASL mechanisms follow")
IMAP_LINE = re.compile(rb"\A(\* .*|\+( .*)?|[\x21-\x7e]+ (OK|NO|BAD) .*)\Z", re.S)
HTTP_STATUS = re.compile(rb"\AHTTP/1\.[01] \d{3} ")


def check_smtp(data: bytes) -> None:
    for line in lines_of(data):
        assert SMTP_LINE.match(line), f"malformed SMTP reply line {line!r}"


def check_pop3(data: bytes) -> None:
    lines = iter(lines_of(data))
    for line in lines:
        assert POP3_LINE.match(line), f"malformed POP3 reply line {line!r}"
        if line in POP3_MULTI:
            for body in lines:
                if body == b".":
                    break
                assert not body.startswith(b".") or body.startswith(b"..")
            else:
                raise AssertionError("multi-line POP3 answer without its final '.'")


def check_imap(data: bytes) -> None:
    for line in lines_of(data):
        assert IMAP_LINE.match(line), f"malformed IMAP response line {line!r}"


def check_http(data: bytes) -> None:
    if data:
        assert HTTP_STATUS.match(data), f"not an HTTP response: {data[:200]!r}"


# --- hostile command streams ----------------------------------------------------------------
HOSTILE = st.sampled_from(
    [
        b"",
        b"\x00",
        b"\x00" * 50,
        b"\xff\xfe\xc3\x28",
        b"\xed\xa0\x80",
        b"\r",
        b"\n",
        b"%s%s%n",
        b"A" * 5000,
        b"9" * 40,
        b"-1",
        b"<>",
        b"<@>",
        b"{4294967296}",
        b"{5}\r\nhello",
        b"\x1b[2J",
        "é😀".encode(),
    ]
)
ENDINGS = st.sampled_from([b"\r\n", b"\r\n", b"\n", b"\r", b""])


def command_stream(verbs: list[bytes], extra: st.SearchStrategy[bytes]) -> st.SearchStrategy:
    word = st.one_of(HOSTILE, extra, st.binary(max_size=30))
    line = st.tuples(st.sampled_from(verbs), st.lists(word, max_size=4), ENDINGS).map(
        lambda t: t[0] + b"".join(b" " + w for w in t[1]) + t[2]
    )
    return st.lists(line | st.binary(max_size=200), min_size=1, max_size=25).map(b"".join)


SMTP_VERBS = [
    b"HELO", b"EHLO", b"MAIL FROM:", b"RCPT TO:", b"DATA", b"RSET", b"NOOP", b"VRFY",
    b"EXPN", b"HELP", b"AUTH", b"BDAT", b"XCLIENT", b"PROXY", b"STARTTLS", b"QUIT", b".",
]  # fmt: skip
POP3_VERBS = [
    b"USER", b"PASS", b"APOP", b"AUTH", b"AUTH PLAIN", b"CAPA", b"STAT", b"LIST",
    b"RETR", b"DELE", b"NOOP", b"RSET", b"TOP", b"UIDL", b"STLS", b"QUIT", b"",
]  # fmt: skip
IMAP_VERBS = [
    b"a CAPABILITY", b"b NOOP", b"c LOGIN", b"d AUTHENTICATE PLAIN", b"e SELECT", b"f FETCH",
    b"g UID FETCH", b"h ID", b"* BAD", b"+", b"i STARTTLS", b"j LOGOUT", b"{3}", b"k",
]  # fmt: skip
SMTP_ARGS = st.sampled_from(
    [b"<sender@example.org>", b"SIZE=99999999999999", b"BODY=8BITMIME", b"SMTPUTF8", b"x.org"]
)
POP3_ARGS = st.sampled_from([b"1", b"0", b"999999999999", b"x@example.test", b"=", b"*"])
IMAP_ARGS = st.sampled_from([b"INBOX", b"1:*", b"(BODY[])", b'"a" "b"', b"{2+}\r\nab", b"()"])


@FUZZ
@given(stream=command_stream(SMTP_VERBS, SMTP_ARGS), rcpt=st.booleans())
def test_smtp_command_fuzz(healthy: Gateway, stream: bytes, rcpt: bool) -> None:
    prefix = b""
    if rcpt:  # reach DATA with a real recipient now and then
        address = healthy.box.address.encode()  # type: ignore[attr-defined]
        prefix = b"EHLO fuzz\r\nMAIL FROM:<f@example.org>\r\nRCPT TO:<" + address + b">\r\n"
    check_smtp(session(healthy.smtp, prefix + stream + b"\r\n.\r\nQUIT\r\n"))


@FUZZ
@given(stream=command_stream(POP3_VERBS, POP3_ARGS))
def test_pop3_command_fuzz(healthy: Gateway, stream: bytes) -> None:
    check_pop3(session(healthy.pop3, stream + b"\r\nQUIT\r\n"))


@FUZZ
@given(stream=command_stream(IMAP_VERBS, IMAP_ARGS))
def test_imap_command_fuzz(healthy: Gateway, stream: bytes) -> None:
    check_imap(session(healthy.imap, stream + b"\r\nz LOGOUT\r\n"))


@settings(FUZZ, max_examples=NOISE_EXAMPLES)
@given(noise=st.binary(min_size=1, max_size=8192))
def test_random_bytes_at_every_listener(healthy: Gateway, noise: bytes) -> None:
    check_smtp(session(healthy.smtp, noise))
    check_pop3(session(healthy.pop3, noise))
    check_imap(session(healthy.imap, noise))
    check_http(session(healthy.web, noise + b"\r\n\r\n", tls=True))
    # and raw bytes where a TLS ClientHello is expected: the server just closes
    session(healthy.web, noise)


# --- fixed hostile cases --------------------------------------------------------------------
FOLLOW_UP = {
    "smtp": (b"NOOP\r\n", b"250 ", check_smtp),
    "pop3": (b"CAPA\r\n", b"+OK capability list follows", check_pop3),
    "imap": (b"z NOOP\r\n", b"z OK", check_imap),
}
CASES = {
    "2 MiB line": b"A" * (2 << 20) + b"\r\n",
    "NUL bytes": b"NOOP\x00\x00\r\n" + b"\x00" * 1000 + b"\r\n",
    "invalid UTF-8": b"EHLO \xff\xfe\xc3\x28\r\nUSER \xed\xa0\x80\r\na LOGIN \xff \xfe\r\n",
    "4 MiB random": random.Random(4).randbytes(4 << 20),
}


@pytest.mark.parametrize("listener", list(FOLLOW_UP))
@pytest.mark.parametrize("case", list(CASES))
def test_fixed_hostile_input_then_a_real_command(healthy: Gateway, listener: str, case: str):
    payload = CASES[case]
    command, answer, check = FOLLOW_UP[listener]
    reply = session(getattr(healthy, listener), payload + b"\r\n" + command)
    check(reply)
    if case != "4 MiB random":  # random bytes may legitimately end the session first
        assert answer in reply, f"{listener} did not answer after {case}: {reply[-300:]!r}"


def test_huge_request_to_the_console(healthy: Gateway) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"A" * (1 << 20) + b"\r\n\r\n"
    reply = session(healthy.web, head, tls=True)
    check_http(reply)
    assert re.match(rb"HTTP/1\.[01] 4\d\d ", reply), reply[:100]


# --- STARTTLS command injection ---------------------------------------------------------------
INJECTION = {
    # listener: (commands before, the TLS command + the injected command in one packet,
    #            what the TLS command answers, a command sent inside TLS, its first reply)
    "smtp": (b"EHLO x\r\n", b"STARTTLS\r\nNOOP\r\n", b"220 ", b"EHLO inside\r\n", b"250-"),
    "pop3": (b"", b"STLS\r\nCAPA\r\n", b"+OK", b"NOOP\r\n", b"-ERR"),
    "imap": (b"", b"a STARTTLS\r\nb NOOP\r\n", b"a OK", b"c NOOP\r\n", b"c OK"),
}


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed before {marker!r}: {data!r}"
        data += chunk
    return data


@pytest.mark.parametrize("listener", list(INJECTION))
@pytest.mark.parametrize("garbage", [b"", b"\x16\x03\x01 not a hello \x00\xff" * 20])
def test_bytes_pipelined_after_starttls_are_discarded(
    healthy: Gateway, listener: str, garbage: bytes
) -> None:
    before, packet, ready, inside, first_reply = INJECTION[listener]
    sock = socket.create_connection(("127.0.0.1", getattr(healthy, listener)), timeout=TIMEOUT)
    with sock:
        read_until(sock, b"\r\n")  # greeting
        if before:
            sock.sendall(before)
            read_until(sock, b"250 ")
        sock.sendall(packet + garbage)  # one packet: the command, then cleartext injected
        answer = read_until(sock, ready)
        # Nothing may answer the injected command before the handshake (in clear) ...
        assert answer.count(b"\r\n") == 1, f"answered in clear: {answer!r}"
        tls = insecure_tls().wrap_socket(sock)  # the handshake succeeds: garbage was dropped
        # ... nor after it, inside TLS.
        tls.settimeout(0.5)
        with contextlib.suppress(TimeoutError, ssl.SSLWantReadError):
            leaked = tls.recv(4096)
            raise AssertionError(f"the injected command was answered inside TLS: {leaked!r}")
        tls.settimeout(TIMEOUT)
        tls.sendall(inside)
        reply = read_until(tls, b"\r\n")
        assert reply.startswith(first_reply), f"first reply inside TLS: {reply!r}"
        tls.close()
    time.sleep(0.05)
