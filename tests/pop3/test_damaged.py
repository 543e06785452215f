"""A stored file that fails authentication: the transfer aborts without the final '.'."""

from __future__ import annotations

import asyncio
import logging

from tests.support.mail import sample_message
from tests.support.metrics import metric

from .conftest import Pop3Server, RawClient
from .test_commands import logged_in
from .test_streaming import big_message, reference_wire


def flip_byte(pop3: Pop3Server, message, offset: int) -> None:
    path = pop3.data_dir / message.path
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def read_until_eof(client: RawClient) -> bytes:
    received = b""
    while chunk := client.file.read(65536):
        received += chunk
    return received


def retrieve_damaged(pop3: Pop3Server, client_tls, command: str) -> bytes:
    """Send `command` after marking message 2 deleted; return all bytes until EOF."""
    client = logged_in(pop3, client_tls)
    assert client.cmd("DELE 2").startswith("+OK")
    client.send(command + "\r\n")
    return read_until_eof(client)


def next_session_works(pop3: Pop3Server, client_tls, good: bytes) -> None:
    client = logged_in(pop3, client_tls)
    assert client.cmd("STAT").startswith("+OK 2 ")
    assert client.cmd("RETR 2").startswith("+OK")
    assert b"".join(client.multi()) == good
    assert client.cmd("QUIT") == "+OK bye (0 messages deleted)"


async def test_damage_found_before_any_data(pop3: Pop3Server, client_tls, caplog) -> None:
    damaged = pop3.deliver(sample_message(1))
    good = sample_message(2)
    pop3.deliver(good)
    size = (pop3.data_dir / damaged.path).stat().st_size
    flip_byte(pop3, damaged, size - 1)

    with caplog.at_level(logging.ERROR, logger="gateway.pop3"):
        received = await asyncio.to_thread(retrieve_damaged, pop3, client_tls, "RETR 1")
    assert not received.endswith(b".\r\n")
    assert b"Subject" not in received
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(damaged.id in m and "connection dropped" in m for m in errors), errors
    audit = pop3.store.audit.list(action="pop3.message-damaged")
    assert [(a.target, a.detail) for a in audit] == [(pop3.mailbox_id, damaged.id)]

    await asyncio.to_thread(next_session_works, pop3, client_tls, good)
    assert len(pop3.message_ids()) == 2  # the DELE mark of the aborted session was dropped


async def test_damage_found_mid_stream(pop3: Pop3Server, client_tls) -> None:
    big = big_message(700_000)
    damaged = pop3.deliver(big)
    good = sample_message(2)
    pop3.deliver(good)
    size = (pop3.data_dir / damaged.path).stat().st_size
    flip_byte(pop3, damaged, size - 20)  # inside the last STREAM chunk

    for command in ("RETR 1", "TOP 1 99999999"):
        received = await asyncio.to_thread(retrieve_damaged, pop3, client_tls, command)
        first = f"+OK {len(big)} octets" if command == "RETR 1" else "+OK top of message follows"
        wire = first.encode() + b"\r\n" + reference_wire(big)
        assert wire.startswith(received), "what was sent must be a prefix of the message"
        assert len(received) < len(wire), "the terminating '.' must never be sent"
        await asyncio.to_thread(next_session_works, pop3, client_tls, good)
    assert metric(pop3.ctx, "pop3_damaged_total") == 2
