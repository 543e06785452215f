"""Real retrieval clients (Debian fetchmail and getmail6) against the server, byte for byte."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.mail import sample_message
from tests.support.retrievers import as_getmail_delivers
from tests.support.tools import require_tool

from .conftest import Pop3Server
from .test_streaming import big_message
from .tools import run_fetchmail, run_getmail


def messages() -> list[bytes]:
    return [
        sample_message(1),
        b"Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\nFrom the start of a line\r\nend\r\n",
        big_message(300_000),
    ]


async def test_fetchmail_keep_then_delete(pop3: Pop3Server, ca_pem: Path, tmp_path: Path) -> None:
    require_tool("fetchmail")
    raws = messages()
    for raw in raws:
        pop3.deliver(raw)

    assert await asyncio.to_thread(run_fetchmail, pop3, ca_pem, tmp_path, True) == raws
    # keep mode remembers UIDLs: nothing new the second time, only the new one the third
    assert await asyncio.to_thread(run_fetchmail, pop3, ca_pem, tmp_path, True) == []
    late = sample_message(4)
    pop3.deliver(late)
    assert await asyncio.to_thread(run_fetchmail, pop3, ca_pem, tmp_path, True) == [late]
    assert len(pop3.message_ids()) == 4

    fetched = await asyncio.to_thread(run_fetchmail, pop3, ca_pem, tmp_path, False)
    assert fetched == [*raws, late]
    assert pop3.message_ids() == []


async def test_getmail_over_pop3s(pop3: Pop3Server, ca_pem: Path, tmp_path: Path) -> None:
    require_tool("getmail")
    raws = messages()
    for raw in raws:
        pop3.deliver(raw)
    expected = [as_getmail_delivers(raw) for raw in raws]

    assert await asyncio.to_thread(run_getmail, pop3, ca_pem, tmp_path, False) == expected
    assert len(pop3.message_ids()) == 3
    assert await asyncio.to_thread(run_getmail, pop3, ca_pem, tmp_path, True) == expected
    assert pop3.message_ids() == []
