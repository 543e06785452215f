"""IMAP test fixtures: a real server on ephemeral ports, blocking clients run in threads
(the pattern is described in tests/support/servers.py)."""

from __future__ import annotations

import imaplib
import re
import ssl
from dataclasses import dataclass

import pytest

from gateway.imap import ImapService, start_imap
from tests.support import mail
from tests.support.servers import ServedMailbox
from tests.support.sockets import BlockingClient


def sample_message(number: int, body_lines: int = 3) -> bytes:
    """tests.support.mail's sample, with a display name and a Date (for ENVELOPE)."""
    return mail.sample_message(
        number, body_lines, sender_name=f"Sender {number}", date="Mon, 1 Jan 2024 10:00:00 +0000"
    )


MULTIPART = (
    b"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n"
    b'To: a@example.test, "B, Person" <b@example.test>\r\n'
    b"Cc: undisclosed-recipients:;\r\n"
    b"Subject: report\r\n"
    b"Date: Tue, 2 Jan 2024 11:00:00 +0100\r\n"
    b"Message-ID: <multi@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
    b"This is a multi-part message.\r\n"
    b"--outer\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Hello,\r\n"
    b"see attached.\r\n"
    b"--outer\r\n"
    b'Content-Type: application/pdf; name="r.pdf"\r\n'
    b'Content-Disposition: attachment; filename="r.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: inner@example.org\r\n"
    b"Subject: inner\r\n"
    b"\r\n"
    b"inner body\r\n"
    b"--outer--\r\n"
)


@dataclass
class ImapServer(ServedMailbox):
    service: ImapService
    client_tls: ssl.SSLContext

    @property
    def port(self) -> int:
        return self.service.address("imap")[1]

    @property
    def imaps_port(self) -> int:
        return self.service.address("imaps")[1]

    def connect(self, starttls: bool = True) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        if starttls:
            client.starttls(ssl_context=self.client_tls)
        return client

    def login(self, select: str | None = "INBOX") -> imaplib.IMAP4:
        client = self.connect()
        client.login(self.alias, self.passphrase)
        if select:
            typ, _ = client.select(select)
            assert typ == "OK"
        return client

    async def restart(self) -> None:
        await self.service.stop(0)
        self.service = await start_imap(self.ctx)


@pytest.fixture
def settings(settings):  # extends the root fixture with an IMAPS listener
    return settings.replace(imap__imaps_listen="127.0.0.1:0")


@pytest.fixture
async def imap(gateway_context, store, data_dir, mailbox, client_tls):
    service = await start_imap(gateway_context)
    server = ImapServer.serving(
        service, gateway_context, store, data_dir, mailbox, client_tls=client_tls
    )
    yield server
    await server.service.stop(0)


# --- a raw client, for what imaplib will not send --------------------------------------

_LITERAL = re.compile(rb"\{(\d+)\}\r\n$")


class RawClient(BlockingClient):
    """A blocking client speaking raw bytes (run it in a thread)."""

    def line(self) -> bytes:
        """One response line; a line announcing a literal comes with the literal and the
        rest of the response appended, so each returned item is one whole response."""
        raw = self.file.readline()
        if not raw:
            raise EOFError("server closed the connection")
        assert raw.endswith(b"\r\n"), raw
        while (m := _LITERAL.search(raw)) is not None:
            raw += self.file.read(int(m.group(1)))
            more = self.file.readline()
            assert more.endswith(b"\r\n"), more
            raw += more
        return raw[:-2]

    def until_tagged(self, tag: bytes) -> list[bytes]:
        out = []
        while True:
            line = self.line()
            out.append(line)
            if line.startswith(tag + b" ") or line.startswith(b"* BAD") and tag == b"*":
                return out

    def cmd(self, text: bytes | str, tag: bytes = b"") -> list[bytes]:
        data = text.encode() if isinstance(text, str) else text
        self.send(data + b"\r\n")
        return self.until_tagged(tag or data.split(b" ", 1)[0])

    def starttls(self, tls: ssl.SSLContext) -> None:
        reply = self.cmd("S1 STARTTLS")
        assert reply[-1].startswith(b"S1 OK"), reply
        self.wrap_tls(tls)
