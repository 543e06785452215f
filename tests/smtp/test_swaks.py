"""swaks (the Debian package) against the real server: STARTTLS and implicit TLS."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.tools import require_tool

from .helpers import FIXTURES, fixture, split_trace, stored


async def swaks(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        require_tool("swaks"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode, output.decode("utf-8", "replace")


@pytest.mark.external
@pytest.mark.parametrize("mode", ["--tls", "--tls-on-connect"])
async def test_swaks_sends_a_journal_report(mode, start_server, mailbox, store, ca_pem):
    mbx, passphrase = mailbox
    service = await start_server(**{"smtp.smtps_listen": "127.0.0.1:0"})
    host, port = service.address("smtps" if mode == "--tls-on-connect" else "smtp")
    name = "exchange_online_7bit.eml"
    code, output = await swaks(
        "--server", host, "--port", str(port), mode,
        "--tls-verify", "--tls-ca-path", str(ca_pem),
        "--ehlo", "exchange.contoso.example",
        "--from", "<>", "--to", "journal@example.test",
        "--data", f"@{FIXTURES / name}",
    )  # fmt: skip
    assert code == 0, output
    assert "250 2.0.0 OK: stored as" in output
    fields, rest = split_trace(stored(store, mbx, passphrase)[0])
    assert rest == fixture(name) + b"\r\n"  # swaks adds a CRLF before the final dot
    assert fields[0] == b"Return-Path: <>\r\n"
    assert b"from exchange.contoso.example ([127.0.0.1])" in fields[-1]


@pytest.mark.external
async def test_swaks_sees_the_refusal_of_an_unknown_recipient(smtp, mailbox, ca_pem):
    host, port = smtp.address()
    code, output = await swaks(
        "--server", host, "--port", str(port), "--tls",
        "--tls-verify", "--tls-ca-path", str(ca_pem),
        "--from", "a@example.org", "--to", "nobody@example.test",
    )  # fmt: skip
    assert code != 0
    assert "550 5.1.1" in output
