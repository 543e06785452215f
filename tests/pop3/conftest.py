"""POP3 test fixtures: a real server on ephemeral ports, blocking clients run in threads.

Pattern used throughout: the server runs on the test's event loop; each test writes its
client side as a plain function (poplib, sockets, subprocesses) and runs it with
`await asyncio.to_thread(...)`, so the loop keeps serving while the client blocks.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.context import GatewayContext
from gateway.pop3 import Pop3Service, start_pop3
from gateway.pop3.maildrop import IN_USE
from storage import MessageInfo


def require_tool(name: str) -> str:
    """Path of an external tool; skip loudly without it, except in CI where it must exist."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed (Debian package; .ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"CI: {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")
    raise AssertionError("unreachable")


def deliver(store, mailbox_id: str, raw: bytes) -> MessageInfo:  # noqa: ANN001
    """Store one message as the SMTP ingest would (raw must use CRLF line endings)."""
    delivery = store.begin_delivery(mailbox_id)
    delivery.write(raw)
    return store.commit_deliveries([delivery])[0]


def sample_message(number: int, body_lines: int = 3) -> bytes:
    lines = [
        f"From: sender{number}@example.org",
        "To: journal@example.test",
        f"Subject: message {number}",
        f"Message-ID: <m{number}@example.org>",
        "",
        *(f"body line {i} of message {number}" for i in range(1, body_lines + 1)),
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class Pop3Server:
    service: Pop3Service
    ctx: GatewayContext
    store: object  # the synchronous store, for arranging and checking
    mailbox_id: str
    alias: str
    passphrase: str
    data_dir: Path

    @property
    def stls_port(self) -> int:
        return self.service.addresses[0][1]

    @property
    def pop3s_port(self) -> int:
        return self.service.addresses[1][1]

    def deliver(self, raw: bytes) -> MessageInfo:
        return deliver(self.store, self.mailbox_id, raw)

    def message_ids(self) -> list[str]:
        return [m.id for m in self.store.list_messages(self.mailbox_id)]


@pytest.fixture(scope="session")
def tls_files(tls_ca, tmp_path_factory) -> tuple[Path, Path]:  # noqa: ANN001
    """Like the root fixture, plus a subject CN: fetchmail 6.4 checks the name there."""
    cert = tls_ca.issue_cert("localhost", "127.0.0.1", common_name="localhost")
    directory = tmp_path_factory.mktemp("tls-pop3")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path


@pytest.fixture
def ca_pem(tls_ca, tmp_path: Path) -> Path:  # noqa: ANN001
    """The test CA as a PEM file, for clients configured by file (fetchmail, getmail)."""
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def settings(settings):  # noqa: ANN001 (extends the root fixture with a POP3S listener)
    return settings.replace(pop3__pop3s_listen="127.0.0.1:0")


async def make_server(ctx: GatewayContext, store, data_dir: Path, mailbox) -> Pop3Server:  # noqa: ANN001
    service = await start_pop3(ctx)
    mbx, passphrase = mailbox
    return Pop3Server(service, ctx, store, mbx.id, mbx.aliases[0], passphrase, data_dir)


@pytest.fixture
async def pop3(gateway_context, store, data_dir, mailbox):  # noqa: ANN001
    server = await make_server(gateway_context, store, data_dir, mailbox)
    yield server
    await server.service.stop(0)
    assert server.mailbox_id not in IN_USE, "a session kept its mailbox locked"


# --- a raw line client, for what poplib will not send ------------------------------------


class RawClient:
    """A blocking POP3 client speaking raw lines (run it in a thread)."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None, source: str = "") -> None:
        self.sock: socket.socket = socket.create_connection(
            ("127.0.0.1", port), timeout=30, source_address=(source, 0) if source else None
        )
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.file = self.sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self) -> str:
        raw = self.file.readline()
        if not raw:
            raise EOFError("server closed the connection")
        assert raw.endswith(b"\r\n"), raw
        return raw[:-2].decode()

    def cmd(self, text: str) -> str:
        self.send(text + "\r\n")
        return self.line()

    def multi(self) -> list[bytes]:
        """The lines of a multi-line body (raw, still dot-stuffed) up to the '.'."""
        lines = []
        while True:
            raw = self.file.readline()
            if not raw:
                raise EOFError("connection closed before the terminating '.'")
            if raw == b".\r\n":
                return lines
            lines.append(raw)

    def starttls(self, tls: ssl.SSLContext) -> str:
        reply = self.cmd("STLS")
        assert reply.startswith("+OK"), reply
        self.file.close()
        self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.file = self.sock.makefile("rb")
        return reply

    def login(self, user: str, passphrase: str) -> str:
        assert self.cmd(f"USER {user}").startswith("+OK")
        return self.cmd(f"PASS {passphrase}")

    def closed_by_server(self) -> bool:
        """True when the server has closed (reads EOF); consumes any pending data."""
        try:
            while self.file.read(65536):
                pass
        except (ConnectionResetError, ssl.SSLError):
            pass
        return True

    def close(self) -> None:
        self.file.close()
        self.sock.close()
