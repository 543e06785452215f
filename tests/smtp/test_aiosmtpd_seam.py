"""Canary: the aiosmtpd internals named in gateway/smtp/aiosmtpd_seam.py are still there.

A new aiosmtpd release may rename, remove or stop calling what the session relies on;
these tests say which internal changed and what to re-check, instead of letting the
session misbehave quietly (a timeout without its 421, a reset that keeps a transaction).
"""

from __future__ import annotations

import asyncio
import inspect
import ssl
from importlib.metadata import version

import pytest
from aiosmtpd.smtp import SMTP

from gateway.smtp.aiosmtpd_seam import INTERNALS, PUBLIC_OVERRIDES, Internal, SeamSMTP
from gateway.smtp.session import GatewaySMTP

from .helpers import RawClient

AIOSMTPD = version("aiosmtpd")
STATIC_KINDS = ("method", "coroutine", "class attribute")


def changed(internal: Internal, problem: str) -> str:
    return (
        f"aiosmtpd {AIOSMTPD}: {internal.name} {problem}. The SMTP session relies on it:"
        f" {internal.why}. Re-check gateway/smtp/aiosmtpd_seam.py (SeamSMTP) against this"
        " aiosmtpd's SMTP class and run tests/smtp before widening the pin in pyproject.toml."
    )


def static_problem(internal: Internal) -> str | None:
    """What is wrong with a method or class attribute on SMTP itself, if anything."""
    try:
        found = inspect.getattr_static(SMTP, internal.name)
    except AttributeError:
        return "no longer exists on aiosmtpd.smtp.SMTP"
    if internal.kind == "class attribute":
        return "is now callable, not a value" if callable(found) else None
    if not inspect.isfunction(found):
        return f"is no longer a method (it is a {type(found).__name__})"
    if inspect.iscoroutinefunction(found) != (internal.kind == "coroutine"):
        return "changed between a coroutine and a plain method"
    parameters = tuple(inspect.signature(found).parameters)[1:]
    if parameters != internal.parameters:
        return f"takes {parameters} instead of {internal.parameters}"
    return None


def callers_problem(internal: Internal) -> str | None:
    """Which SMTP methods no longer name the internal (so would not call or set it)."""
    silent = [
        caller
        for caller in internal.used_by
        if internal.name not in inspect.getsource(getattr(SMTP, caller))
    ]
    return f"is no longer used by SMTP.{', SMTP.'.join(silent)}" if silent else None


@pytest.mark.parametrize("internal", INTERNALS, ids=lambda internal: internal.name)
def test_each_internal_is_where_the_seam_expects_it(internal: Internal) -> None:
    problems = [callers_problem(internal)]
    if internal.kind in STATIC_KINDS:
        problems.insert(0, static_problem(internal))
    problems = [changed(internal, p) for p in problems if p]
    assert not problems, "\n".join(problems)


def test_the_session_overrides_nothing_of_aiosmtpd_by_accident() -> None:
    """A new SMTP method with a name the session also uses would be silently replaced."""
    ours = {
        name
        for cls in (SeamSMTP, GatewaySMTP)
        for name in vars(cls)
        if not name.startswith("__") and hasattr(SMTP, name)
    }
    intended = PUBLIC_OVERRIDES | {i.name for i in INTERNALS if i.name in vars(SeamSMTP)}
    assert ours == intended, (
        f"aiosmtpd {AIOSMTPD}'s SMTP now also defines {sorted(ours - intended)}, which the"
        " session defines for its own use: rename ours (gateway/smtp/session.py or"
        " aiosmtpd_seam.py) or list a deliberate override in aiosmtpd_seam.PUBLIC_OVERRIDES."
        f" Overrides aiosmtpd no longer has: {sorted(intended - ours)}."
    )


class Handler:
    """No hooks: aiosmtpd's own behaviour."""


async def test_per_connection_internals_on_a_live_aiosmtpd_session(
    tls_files, client_tls: ssl.SSLContext
) -> None:
    """`_reader`, `_handler_coroutine` and `_tls_protocol` exist only on a connected
    protocol: serve plain aiosmtpd over loopback and look at one, before and after
    STARTTLS."""
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(*tls_files)
    sessions: list[SMTP] = []

    def factory() -> SMTP:
        sessions.append(SMTP(Handler(), tls_context=server_tls, hostname="seam.test"))
        return sessions[-1]

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    internal = {i.name: i for i in INTERNALS}
    try:
        client, (code, _) = await RawClient.connect(server.sockets[0].getsockname()[:2])
        assert code == 220
        assert (await client.command("EHLO client.example"))[0] == 250
        smtp = sessions[0]
        reader = getattr(smtp, "_reader", None)
        assert isinstance(reader, asyncio.StreamReader), changed(
            internal["_reader"], f"is {type(reader).__name__}, not the connection's StreamReader"
        )
        assert isinstance(getattr(reader, "_buffer", None), bytearray), (
            "asyncio.StreamReader._buffer is no longer a bytearray: fix"
            " gateway/smtp/aiosmtpd_seam.unread (bytes read past the end of DATA)"
        )
        task = getattr(smtp, "_handler_coroutine", None)
        assert isinstance(task, asyncio.Task) and not task.done(), changed(
            internal["_handler_coroutine"], "is not the running task serving the connection"
        )
        assert getattr(smtp, "_tls_protocol", "missing") is None, changed(
            internal["_tls_protocol"], "is not None before STARTTLS"
        )
        await client.starttls(client_tls)
        assert (await client.command("EHLO client.example"))[0] == 250
        assert smtp._tls_protocol is not None and smtp.session.ssl is not None, changed(
            internal["_tls_protocol"], "is not set once STARTTLS has completed"
        )
        assert (await client.command("QUIT"))[0] == 221
        await client.close()
        await asyncio.wait({task}, timeout=5)  # aiosmtpd cancels it on QUIT
        assert task.done()
    finally:
        server.close()
        await server.wait_closed()


ADDRESS_ARGS = [
    "",
    "<>",
    "<user@example.test>",
    "<user@example.test> SIZE=1000 BODY=8BITMIME",
    "user@example.test",
    "  <user@example.test>",
    '<"quoted local"@example.test>',
    "<@relay.example:user@example.test>",
    "<user@[192.0.2.1]>",
    "<user@example.test",
    "<not an address>",
    "<a@b@c>",
    "<" + "x" * 65 + "@example.test>",
    "<" + "x" * 64 + "@example.test>",
    "<üser@exämple.test>",
    "<user@example.test>\x00",
]


@pytest.mark.parametrize("limit", [0, 64])
@pytest.mark.parametrize("arg", ADDRESS_ARGS)
def test_the_address_parser_answers_exactly_as_aiosmtpds(arg: str, limit: int) -> None:
    """parse_address replaces SMTP._getaddr (for speed): same result for every input."""
    ours, theirs = SeamSMTP.__new__(SeamSMTP), SMTP.__new__(SMTP)
    ours.local_part_limit = theirs.local_part_limit = limit
    assert ours._getaddr(arg) == SMTP._getaddr(theirs, arg)
    assert ours.parse_address(arg) == SMTP._getaddr(theirs, arg)
