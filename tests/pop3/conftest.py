"""POP3 test fixtures: a real server on ephemeral ports, blocking clients run in threads
(the pattern is described in tests/support/servers.py)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.context import GatewayContext
from gateway.pop3 import Pop3Service, start_pop3
from gateway.pop3.maildrop import lease_name
from tests.support.servers import ServedMailbox
from tests.support.sockets import BlockingClient


@dataclass
class Pop3Server(ServedMailbox):
    service: Pop3Service

    @property
    def stls_port(self) -> int:
        return self.service.addresses[0][1]

    @property
    def pop3s_port(self) -> int:
        return self.service.addresses[1][1]

    def message_ids(self) -> list[str]:
        return [m.id for m in self.messages()]


@pytest.fixture
def settings(settings):  # extends the root fixture with a POP3S listener
    return settings.replace(pop3__pop3s_listen="127.0.0.1:0")


async def make_server(ctx: GatewayContext, store, data_dir: Path, mailbox) -> Pop3Server:
    return Pop3Server.serving(await start_pop3(ctx), ctx, store, data_dir, mailbox)


@pytest.fixture
async def pop3(gateway_context, store, data_dir, mailbox):
    server = await make_server(gateway_context, store, data_dir, mailbox)
    yield server
    await server.service.stop(0)
    assert server.store.leases.holder(lease_name(server.mailbox_id)) is None, "locked"


# --- a raw line client, for what poplib will not send ------------------------------------


class RawClient(BlockingClient):
    """A blocking POP3 client speaking raw lines (run it in a thread)."""

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
        self.wrap_tls(tls)
        return reply

    def login(self, user: str, passphrase: str) -> str:
        assert self.cmd(f"USER {user}").startswith("+OK")
        return self.cmd(f"PASS {passphrase}")
