"""PROXY protocol on POP3, POP3S, IMAP and IMAPS, spoken by hand: what a real balancer
does not send (bad, slow and LOCAL headers; a header sharing its TCP segment with the
TLS ClientHello), and the option off."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import struct
import time

import pytest

from gateway.imap import start_imap
from gateway.pop3 import start_pop3
from tests.support.sockets import READ_TIMEOUT

from .conftest import LineClient, Proxied

KINDS = ("pop3", "pop3s", "imap", "imaps")
CLAIMED = "198.51.100.7"  # the client address the headers below name
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
REFUSED = "no valid PROXY header"


def v2_header(source: str = CLAIMED, *, local: bool = False) -> bytes:
    """A PROXY v2 header: PROXY over TCP/IPv4 from `source`, or the LOCAL command."""
    if local:
        return V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    addresses = ipaddress.IPv4Address(source).packed + ipaddress.IPv4Address("127.0.0.1").packed
    body = addresses + struct.pack("!HH", 40000, 995)
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def v1_header(source: str = CLAIMED) -> bytes:
    return f"PROXY TCP4 {source} 127.0.0.1 40000 110\r\n".encode()


def received_until_closed(port: int, payload: bytes, *, source: str = "127.0.0.1") -> bytes:
    """Send `payload`, then everything the server sends until it closes the connection."""
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), READ_TIMEOUT, (source, 0)) as sock:
        if payload:
            sock.sendall(payload)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return bytes(received)


class CoalescedTls:
    """A TLS client whose PROXY header and ClientHello leave in one TCP segment, as
    HAProxy sends them (the header with MSG_MORE); reads lines over TLS afterwards."""

    def __init__(self, port: int, header: bytes, tls: ssl.SSLContext) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), READ_TIMEOUT)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = tls.wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")
        self._step(self.tls.do_handshake)
        self.sock.sendall(header + self.outgoing.read())  # one write: header + ClientHello
        while not self._step(self.tls.do_handshake):
            self._pump()
        self._flush()
        self.buffer = b""

    def _step(self, action) -> bool:
        try:
            action()
        except ssl.SSLWantReadError:
            return False
        return True

    def _flush(self) -> None:
        if self.outgoing.pending:
            self.sock.sendall(self.outgoing.read())

    def _pump(self) -> None:
        self._flush()
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.incoming.write(data)

    def line(self) -> str:
        while b"\r\n" not in self.buffer:
            try:
                self.buffer += self.tls.read(65536)
            except ssl.SSLWantReadError:
                self._pump()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode()

    def cmd(self, text: str) -> str:
        self.tls.write(text.encode() + b"\r\n")
        self._flush()
        return self.line()

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("header", [v2_header(), v1_header()], ids=["v2", "v1"])
@pytest.mark.parametrize("kind", ["pop3s", "imaps"])
async def test_tls_after_a_header_in_the_same_segment_as_the_client_hello(
    proxied: Proxied, kind: str, header: bytes
) -> None:
    port = proxied.ports()[kind]

    def session() -> None:
        client = CoalescedTls(port, header, proxied.tls)
        try:
            if kind == "pop3s":
                assert client.line().startswith("+OK")
                assert client.cmd(f"USER {proxied.mailbox_id}").startswith("+OK")
                assert client.cmd(f"PASS {proxied.passphrase}").startswith("+OK")
            else:
                assert client.line().startswith("* OK")
                login = f'a1 LOGIN "{proxied.mailbox_id}" "{proxied.passphrase}"'
                while not (reply := client.cmd(login) if login else client.line()).startswith(
                    "a1 "
                ):
                    login = ""
                assert reply.startswith("a1 OK"), reply
        finally:
            client.close()

    await asyncio.to_thread(session)
    assert proxied.logins_from() == [CLAIMED]


@pytest.mark.parametrize("kind", ["pop3", "imap"])
async def test_a_local_header_keeps_the_sockets_own_address(proxied: Proxied, kind: str) -> None:
    """HAProxy's health checks send LOCAL: the connection is the balancer's own."""
    port = proxied.ports()[kind]
    source = "127.0.0.3"

    def session() -> None:
        sock = socket.create_connection(("127.0.0.1", port), READ_TIMEOUT, (source, 0))
        sock.sendall(v2_header(local=True))
        client = LineClient.__new__(LineClient)  # the greeting comes after the header
        client.sock, client.file = sock, sock.makefile("rb")
        try:
            if kind == "pop3":
                assert client.line().startswith("+OK")
                assert client.cmd("STLS").startswith("+OK")
                client.wrap_tls(proxied.tls)
                assert client.cmd(f"USER {proxied.mailbox_id}").startswith("+OK")
                assert client.cmd(f"PASS {proxied.passphrase}").startswith("+OK")
            else:
                assert client.line().startswith("* OK")
                assert client.tagged("a1", "STARTTLS").startswith("a1 OK")
                client.wrap_tls(proxied.tls)
                login = f'LOGIN "{proxied.mailbox_id}" "{proxied.passphrase}"'
                assert client.tagged("a2", login).startswith("a2 OK")
        finally:
            client.close()

    await asyncio.to_thread(session)
    assert proxied.logins_from() == [source]


BAD_HEADERS = {
    "not-proxy": b"USER journal@example.test\r\n",
    "http": b"GET / HTTP/1.0\r\n\r\n",
    "tls-hello-first": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32),
    "v1-bad-address": b"PROXY TCP4 999.1.2.3 127.0.0.1 40000 110\r\n",
    "v1-unknown-family": b"PROXY UDP4 192.0.2.1 127.0.0.1 40000 110\r\n",
    "v2-bad-version": V2_SIGNATURE + bytes([0x31, 0x11, 0, 12]) + bytes(12),
    "v2-bad-command": V2_SIGNATURE + bytes([0x2F, 0x11, 0, 12]) + bytes(12),
    "v2-truncated-address": V2_SIGNATURE + bytes([0x21, 0x11, 0, 4]) + bytes(4),
}


@pytest.mark.parametrize("payload", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
@pytest.mark.parametrize("kind", KINDS)
async def test_a_bad_header_is_closed_without_a_greeting(
    proxied: Proxied, kind: str, payload: bytes, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.retrieval")
    port = proxied.ports()[kind]
    started = time.monotonic()
    received = await asyncio.to_thread(received_until_closed, port, payload)
    assert received == b""  # no greeting, no TLS: nothing at all
    assert time.monotonic() - started < 5  # refused at once, not at the timeout (10 s)
    assert REFUSED in caplog.text
    assert proxied.store.audit.list() == []


async def test_an_over_long_v1_line_is_refused_before_its_end(proxied: Proxied) -> None:
    """No LF in 107 bytes: refused without waiting for more (or for the timeout)."""
    port = proxied.ports()["pop3"]
    started = time.monotonic()
    received = await asyncio.to_thread(received_until_closed, port, b"PROXY " + b"A" * 300)
    assert received == b""
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "payload",
    [b"", v2_header()[:20], b"PROXY TCP4 192.0.2.1 127.0.0.1"],
    ids=["silent", "half-v2", "half-v1"],
)
@pytest.mark.parametrize("kind", KINDS)
async def test_a_missing_or_slow_header_is_closed_after_the_timeout(
    proxied: Proxied, kind: str, payload: bytes, caplog, monkeypatch
) -> None:
    monkeypatch.setattr("gateway.retrieval.opening.PROXY_TIMEOUT", 1.0)
    caplog.set_level(logging.INFO, logger="gateway.retrieval")
    port = proxied.ports()[kind]
    started = time.monotonic()
    received = await asyncio.to_thread(received_until_closed, port, payload)
    assert received == b""
    assert 0.9 < time.monotonic() - started < 8
    assert "no complete header within 1 s" in caplog.text
    assert proxied.store.audit.list() == []


async def test_the_client_closing_before_its_header_ends_is_logged(
    proxied: Proxied, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.retrieval")
    port = proxied.ports()["imap"]

    def half_then_close() -> None:
        with socket.create_connection(("127.0.0.1", port), READ_TIMEOUT) as sock:
            sock.sendall(v2_header()[:10])

    await asyncio.to_thread(half_then_close)
    deadline = time.monotonic() + 5  # "ended before the header": the parser's words
    while "Connection lost while waiting for signature" not in caplog.text:
        assert time.monotonic() < deadline, caplog.text
        await asyncio.sleep(0.05)


async def test_with_the_option_off_a_header_is_just_a_bad_command(gateway_context) -> None:
    pop3, imap = await start_pop3(gateway_context), await start_imap(gateway_context)
    try:

        def session() -> tuple[str, str]:
            pop = LineClient(pop3.addresses[0][1])
            im = LineClient(imap.address("imap")[1])
            try:
                assert pop.greeting.startswith("+OK") and im.greeting.startswith("* OK")
                return pop.cmd(v1_header().decode().rstrip()), im.cmd(v1_header().decode().rstrip())
            finally:
                pop.close()
                im.close()

        pop_reply, imap_reply = await asyncio.to_thread(session)
    finally:
        await pop3.stop(0)
        await imap.stop(0)
    assert pop_reply == "-ERR unknown command"
    assert imap_reply.startswith("PROXY BAD"), imap_reply


@pytest.mark.parametrize("kind", ["pop3s", "imaps"])
async def test_plain_text_after_the_header_on_a_tls_listener_gets_no_greeting(
    proxied: Proxied, kind: str, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.retrieval")
    port = proxied.ports()[kind]
    payload = v2_header() + b"USER journal@example.test\r\n"
    received = await asyncio.to_thread(received_until_closed, port, payload)
    assert b"OK" not in received  # at most a TLS alert, never a greeting in clear
    assert f"{kind[:4]} {CLAIMED}: TLS handshake failed" in caplog.text
    assert proxied.store.audit.list() == []
