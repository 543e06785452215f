"""Test helpers: a raw SMTP client over asyncio streams, decrypting what was stored."""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path

LINE_END = re.compile(rb"\r\n|\r|\n")
CLOSE_TIMEOUT = 10.0  # seconds closed_by_server waits for the server to close


def canonical(data: bytes) -> bytes:
    """What the gateway stores for sent content: every line ending becomes CRLF."""
    return LINE_END.sub(b"\r\n", data)


def unstuffed(wire: bytes) -> bytes:
    """What a correct server stores for raw DATA content (terminator excluded)."""
    return canonical(re.sub(rb"(\A|\r\n)\.", rb"\1", wire))


def stuff(data: bytes) -> bytes:
    """Dot-stuff for the wire (lines after CRLF only, as RFC 5321 says) and end it."""
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return re.sub(rb"(\A|\r\n)\.", rb"\1..", data) + b".\r\n"


class RawClient:
    """Speaks SMTP byte for byte, so tests can send what real clients refuse to."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(
        cls, address: tuple[str, int], tls: ssl.SSLContext | None = None, greet: bool = True
    ) -> tuple[RawClient, tuple[int, str]]:
        reader, writer = await asyncio.open_connection(*address, ssl=tls)
        client = cls(reader, writer)
        banner = await client.reply() if greet else (0, "")
        return client, banner

    async def reply(self) -> tuple[int, str]:
        """One (possibly multi-line) reply; (0, "") when the server closed."""
        lines = []
        while True:
            line = await self.reader.readline()
            if not line:
                return (0, "") if not lines else (int(lines[-1][:3]), "\n".join(lines))
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(text)
            if text[3:4] != "-":
                return int(text[:3]), "\n".join(lines)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def command(self, line: str | bytes) -> tuple[int, str]:
        raw = line.encode("utf-8") if isinstance(line, str) else line
        await self.send(raw + b"\r\n")
        return await self.reply()

    async def starttls(self, tls: ssl.SSLContext) -> None:
        code, _ = await self.command("STARTTLS")
        assert code == 220
        await self.writer.start_tls(tls, server_hostname="127.0.0.1")

    async def transaction(self, sender: str, recipients: list[str], wire_data: bytes) -> int:
        """MAIL, RCPT..., DATA with already-stuffed data; returns the final code."""
        assert (await self.command(f"MAIL FROM:<{sender}>"))[0] == 250
        for rcpt in recipients:
            assert (await self.command(f"RCPT TO:<{rcpt}>"))[0] == 250
        assert (await self.command("DATA"))[0] == 354
        await self.send(wire_data)
        return (await self.reply())[0]

    async def closed_by_server(self, within: float = CLOSE_TIMEOUT) -> bool:
        """Whether the server closes the connection in `within` seconds.

        Reads (and drops) what the server still sends, such as a last reply, until
        end of file or a reset: True. False when the connection is still open then.
        """
        try:
            async with asyncio.timeout(within):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except (ConnectionError, ssl.SSLError):
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


async def client_in_data(
    address: tuple[str, int], tls: ssl.SSLContext, recipient: str
) -> RawClient:
    """A client past EHLO, STARTTLS, MAIL and RCPT TO `recipient`, whose DATA got 354."""
    client, _ = await RawClient.connect(address)
    await client.command("EHLO client.example")
    await client.starttls(tls)
    await client.command("EHLO client.example")
    await client.command("MAIL FROM:<a@example.org>")
    await client.command(f"RCPT TO:<{recipient}>")
    assert (await client.command("DATA"))[0] == 354
    return client


def stored(store, mailbox, passphrase: str) -> list[bytes]:
    """Every message of the mailbox, decrypted, oldest first."""
    key = store.keys.unlock(mailbox.id, passphrase)
    return [b"".join(store.messages.read(key, m)) for m in store.messages.list(mailbox.id)]


def split_trace(message: bytes) -> tuple[list[bytes], bytes]:
    """The gateway's trace header fields and the rest of the message, byte for byte.

    Trace fields come first; the last is our Received header, always three lines.
    """
    fields: list[bytes] = []
    pos = 0
    while True:
        lines = 3 if message.startswith(b"Received:", pos) else 1
        end = pos
        for _ in range(lines):
            end = message.index(b"\r\n", end) + 2
        fields.append(message[pos:end])
        pos = end
        if lines == 3:
            return fields, message[pos:]


def header_values(fields: list[bytes], name: str) -> list[str]:
    prefix = name.lower().encode() + b":"
    return [
        f[len(prefix) :].decode("utf-8").strip() for f in fields if f.lower().startswith(prefix)
    ]


def leftovers(data_dir: Path) -> list[str]:
    """Files under blobs/ and tmp/ (nothing may remain of an aborted message)."""
    found = []
    for sub in ("blobs", "tmp"):
        found += [str(p) for p in (data_dir / sub).rglob("*") if p.is_file()]
    return found


FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
