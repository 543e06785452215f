"""The POP3 protocol engine: read a command, check its state, dispatch to `handle_<VERB>`.

States follow RFC 1939: AUTHORIZATION → TRANSACTION → UPDATE. A handler is an async
method marked with `@command(states...)`; it receives the argument text exactly as sent
(everything after the first space) and writes its reply with `reply`/`reply_lines`.
Protocol errors (unknown command, wrong state, bad syntax, over-long line) are counted;
too many close the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..retrieval import ConnectionClosed, LineConnection, LineTooLong

log = logging.getLogger("gateway.pop3")

AUTHORIZATION = "AUTHORIZATION"
TRANSACTION = "TRANSACTION"
UPDATE = "UPDATE"

# Longest command line accepted, CRLF included. RFC 2449 allows 255 octets; more room is
# left for AUTH PLAIN initial responses carrying long addresses.
MAX_COMMAND_LINE = 1024
MAX_BAD_COMMANDS = 10

Handler = Callable[[Any, str], Awaitable[None]]


def command(*states: str) -> Callable[[Handler], Handler]:
    """Mark an async method `handle_<VERB>` as a command valid in `states`."""

    def mark(func: Handler) -> Handler:
        func.pop3_states = states  # type: ignore[attr-defined]
        return func

    return mark


class SessionEnded(Exception):
    """Stop the session now (the connection was closed or aborted)."""


@dataclass(frozen=True)
class ListenerConfig:
    """What differs between listeners, plus the session timeouts."""

    implicit_tls: bool
    allow_plaintext_login: bool
    idle_timeout: float
    login_timeout: float


class Pop3Engine:
    """Reading, dispatching and replying; the commands live in subclasses."""

    def __init__(self, conn: LineConnection, config: ListenerConfig) -> None:
        self.conn = conn
        self.config = config
        self.state = AUTHORIZATION
        self.bad_commands = 0
        self.idle = False  # waiting for the next command (safe to stop at once)
        self.finished = False

    # --- the loop ----------------------------------------------------------------------
    async def serve(self) -> None:
        """Run the command loop until QUIT, a timeout, an error limit or a lost connection."""
        while not self.finished:
            line = await self._next_command()
            if line is not None:
                await self._dispatch(line)
            if not self.finished:  # once finished, close() flushes what is left
                await self.flush()

    async def _next_command(self) -> bytes | None:
        timeout = (
            self.config.login_timeout if self.state == AUTHORIZATION else self.config.idle_timeout
        )
        self.idle = True
        try:
            async with asyncio.timeout(timeout):
                line = await self.conn.read_line(MAX_COMMAND_LINE)
        except TimeoutError:
            # RFC 1939 §3: on autologout close without a reply and without UPDATE.
            log.info("pop3 %s: idle timeout in %s state", self.conn.peer_ip, self.state)
            self.conn.close()
            raise SessionEnded() from None
        except LineTooLong:
            self.protocol_error("-ERR line too long")
            return None
        except ConnectionClosed:
            raise SessionEnded() from None
        finally:
            self.idle = False
        return line.removesuffix(b"\n").removesuffix(b"\r")

    async def _dispatch(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        verb, _, arg = text.partition(" ")
        verb = verb.upper()
        known = verb.isascii() and verb.isalpha()
        handler = getattr(self, f"handle_{verb}", None) if known else None
        states = getattr(handler, "pop3_states", None)
        if handler is None or states is None:
            self.protocol_error("-ERR unknown command")
        elif self.state not in states:
            self.protocol_error(f"-ERR {verb} is not valid in the {self.state} state")
        else:
            log.debug("pop3 %s: %s", self.conn.peer_ip, verb)  # never the argument
            await handler(arg)

    # --- replies -----------------------------------------------------------------------
    def reply(self, text: str) -> None:
        self.conn.write(text.encode("utf-8") + b"\r\n")

    def reply_lines(self, first: str, lines: Iterable[str]) -> None:
        """A multi-line reply: `first`, the lines (dot-stuffed), then the terminator."""
        body = "".join(("." + x if x.startswith(".") else x) + "\r\n" for x in lines)
        self.conn.write(f"{first}\r\n{body}.\r\n".encode())

    def protocol_error(self, text: str) -> None:
        self.bad_commands += 1
        if self.bad_commands >= MAX_BAD_COMMANDS:
            log.info("pop3 %s: too many bad commands, closing", self.conn.peer_ip)
            self.reply("-ERR too many bad commands, closing connection")
            self.close()
        else:
            self.reply(text)

    def syntax_error(self, verb: str, usage: str) -> None:
        self.protocol_error(f"-ERR syntax: {verb} {usage}".rstrip())

    async def flush(self) -> None:
        """Wait until the client has taken enough of what was written."""
        try:
            async with asyncio.timeout(self.config.idle_timeout):
                await self.conn.drain()
        except (TimeoutError, ConnectionClosed):
            self.conn.abort()
            raise SessionEnded() from None

    def close(self) -> None:
        self.finished = True
        self.conn.close()
