"""The aiosmtpd internals the SMTP session relies on, named in one place.

aiosmtpd documents its handler hooks and its `smtp_*` command methods; the session
needs a little more of its SMTP class (a task to run admission in, the idle timer's
callback, the reset on RSET/HELO/EHLO, the stream DATA is read from). `INTERNALS`
lists each such name with why it is used; `SeamSMTP` is the only code that touches
them, and gives each a public name that GatewaySMTP uses instead.

pyproject.toml pins aiosmtpd to the range tested with these names. The canary,
tests/smtp/test_aiosmtpd_seam.py, checks every entry against the installed aiosmtpd
and names what changed; before widening the pin, run it and tests/smtp.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError

from aiosmtpd.smtp import SMTP


@dataclass(frozen=True)
class Internal:
    """One private (or undocumented) part of aiosmtpd's SMTP that the session uses."""

    name: str
    kind: str  # "method", "coroutine", "attribute" (set per instance) or "class attribute"
    why: str
    parameters: tuple[str, ...] = ()  # a method's parameters after self
    used_by: tuple[str, ...] = ()  # SMTP methods whose source must still name it


INTERNALS: tuple[Internal, ...] = (
    Internal(
        "_handle_client",
        "coroutine",
        "overridden (serve_client): the connection's task; admission runs in it before "
        "aiosmtpd's greeting and command loop",
        used_by=("connection_made",),
    ),
    Internal(
        "_timeout_cb",
        "method",
        "overridden (on_idle_timeout): the idle timer's callback; the session sends 421 "
        "before it closes, where aiosmtpd only closes",
        used_by=("_reset_timeout",),
    ),
    Internal(
        "_reset_timeout",
        "method",
        "called (restart_idle_timer): DATA blocks and the commit are not idleness",
        parameters=("duration",),
    ),
    Internal(
        "_set_rset_state",
        "method",
        "overridden (on_reset): the reset on connect, RSET, HELO, EHLO and after STARTTLS "
        "ends the transaction record",
        used_by=("connection_made", "smtp_RSET", "smtp_HELO", "smtp_EHLO"),
    ),
    Internal(
        "_getaddr",
        "method",
        "overridden (parse_address): the address parser of MAIL and RCPT; aiosmtpd's "
        "defines a typing.Protocol class on every call (~45 us of a 55 us parse)",
        parameters=("arg",),
        used_by=("smtp_MAIL", "smtp_RCPT"),
    ),
    Internal(
        "_set_post_data_state",
        "method",
        "called (reset_envelope): a fresh envelope after the streaming DATA",
    ),
    Internal(
        "_reader",
        "attribute",
        "read (command_reader): the connection's StreamReader, set by _cb_client_connected; "
        "DATA streams from it and gives back what it read past the end",
        used_by=("_cb_client_connected", "_handle_client"),
    ),
    Internal(
        "_handler_coroutine",
        "attribute",
        "read (client_task): the task running _handle_client; the service waits for it and "
        "cancels it on stop",
        used_by=("connection_made",),
    ),
    Internal(
        "_tls_protocol",
        "attribute",
        "read (tls_started): set by smtp_STARTTLS; with no session.ssl after it, the "
        "handshake never finished and the session must end",
        used_by=("smtp_STARTTLS",),
    ),
    Internal(
        "line_length_limit",
        "class attribute",
        "set before SMTP.__init__, which reads it as the StreamReader's limit (the longest "
        "command line, and the read-ahead)",
        used_by=("__init__",),
    ),
    Internal(
        "command_size_limits",
        "class attribute",
        "replaced per instance: the class's dict is shared by every instance and cleared by "
        "SMTP.__init__; smtp_EHLO grows its MAIL entry, which the EHLO hook puts back",
        used_by=("__init__", "smtp_EHLO", "_handle_client"),
    ),
)

# Documented SMTP methods GatewaySMTP overrides (extending, calling super()).
PUBLIC_OVERRIDES = frozenset(
    {"connection_made", "connection_lost", "push", "smtp_DATA", "smtp_STARTTLS", "smtp_AUTH"}
)


class SeamSMTP(SMTP):
    """aiosmtpd's SMTP with the internals in INTERNALS behind public names.

    Subclasses override serve_client, on_idle_timeout and on_reset (calling super()),
    never the underscored names.
    """

    # --- overridden internals: aiosmtpd calls these ------------------------------------
    async def _handle_client(self) -> None:
        await self.serve_client()

    def _timeout_cb(self) -> None:
        self.on_idle_timeout()

    def _set_rset_state(self) -> None:
        self.on_reset()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        return self.parse_address(arg)

    # --- their public names --------------------------------------------------------------
    async def serve_client(self) -> None:
        """The connection's task: greet, then aiosmtpd's command loop until the end."""
        await SMTP._handle_client(self)

    def on_idle_timeout(self) -> None:
        """No command within the idle timeout: aiosmtpd closes the connection."""
        SMTP._timeout_cb(self)

    def on_reset(self) -> None:
        """aiosmtpd's reset on connect, RSET, HELO, EHLO and STARTTLS: a new envelope."""
        SMTP._set_rset_state(self)

    def parse_address(self, arg: str) -> tuple[str | None, str | None]:
        """(address, rest) of a MAIL/RCPT argument, or (None, None) if it does not parse.

        The same as aiosmtpd 1.4's SMTP._getaddr (same parser, same local-part limit),
        without the class it creates per call: two per message on the event loop.
        """
        if not arg:
            return "", ""
        parse = get_angle_addr if arg.lstrip().startswith("<") else get_addr_spec
        try:
            address, rest = parse(arg)
        except HeaderParseError:
            return None, None
        addr: str = address.addr_spec
        localpart = addr.rpartition("@")[0]
        if self.local_part_limit and len(localpart) > self.local_part_limit:
            return None, None
        return addr, rest

    # --- internals used directly ---------------------------------------------------------
    def restart_idle_timer(self) -> None:
        self._reset_timeout()

    def reset_envelope(self) -> None:
        """A fresh envelope, as after DATA."""
        self._set_post_data_state()

    @property
    def command_reader(self) -> asyncio.StreamReader:
        """The StreamReader aiosmtpd reads commands from (set once connected)."""
        return self._reader

    @property
    def client_task(self) -> asyncio.Task[None] | None:
        """The task serving this connection (set by connection_made)."""
        return self._handler_coroutine

    @property
    def tls_started(self) -> bool:
        """Whether STARTTLS switched the connection to the TLS layer (handshake or not)."""
        return self._tls_protocol is not None


def unread(reader: asyncio.StreamReader, data: bytes) -> None:
    """Give back bytes read past the end of DATA (pipelined commands).

    StreamReader has no public unread; aiosmtpd itself manages its `_buffer`, a
    bytearray (it clears it after STARTTLS). The command loop reads these bytes next.
    """
    # Private to asyncio, so not in its type stubs (see the docstring).
    reader._buffer[0:0] = data  # type: ignore[attr-defined]
