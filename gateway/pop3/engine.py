"""The POP3 engine: greet, read a command, dispatch it through the verb table, end cleanly.

A line is `VERB[ argument]`; the verb table (verbs.py) says which states the verb is
allowed in and parses the argument into a typed value before its handler runs.
"""

from __future__ import annotations

import logging

from ..logs import bind_connection
from ..proxy_protocol import trusted_proxies
from ..retrieval import ConnectionClosed
from ..retrieval.dispatch import BadArguments, NotAllowed, UnknownVerb
from ..retrieval.opening import Opening, open_connection
from .state import Pop3Session, SessionEnded
from .verbs import VERBS

log = logging.getLogger("gateway.pop3")


async def run_session(s: Pop3Session) -> None:
    """Greet, serve commands, and always release the mailbox and the key at the end."""
    bind_connection("pop3")
    s.ctx.metrics.pop3_sessions.inc()
    try:
        if not await _open(s):
            return
        s.reply(f"+OK {s.ctx.hostname} POP3 server ready")
        await _serve(s)
    except (SessionEnded, ConnectionClosed):
        pass
    except Exception:
        log.exception("pop3 %s: session failed", s.conn.client_ip)
        s.conn.abort()
    finally:
        try:
            await s.record_seen()
        finally:
            await s.release()


async def _open(s: Pop3Session) -> bool:
    """The PROXY header and the TLS after it, when the listener expects them."""
    config = s.config
    opening = Opening(
        "pop3",
        config.proxy_protocol,
        s.ctx.tls.context if config.proxy_protocol and config.implicit_tls else None,
        config.login_timeout,
        trusted_proxies(tuple(s.ctx.settings.gateway.trusted_proxies)),
    )
    s.idle = True  # nothing to lose: stopping may end the session at once
    try:
        return await open_connection(s.conn, opening)
    finally:
        s.idle = False


async def _serve(s: Pop3Session) -> None:
    """Run commands until QUIT, a timeout, an error limit or a lost connection."""
    while not s.finished:
        line = await s.read_command()
        if line is not None:
            await _dispatch(s, line)
        if not s.finished:  # once finished, close() flushes what is left
            await s.flush()


async def _dispatch(s: Pop3Session, line: bytes) -> None:
    verb, _, arg = line.decode("utf-8", "replace").partition(" ")
    verb = verb.upper()
    if verb in VERBS:
        log.debug("pop3 %s: %s", s.conn.client_ip, verb)  # never the argument
    try:
        await VERBS.dispatch(s, s.state, verb, arg)
    except UnknownVerb:
        s.protocol_error("-ERR unknown command")
    except NotAllowed:
        s.protocol_error(f"-ERR {verb} is not valid in the {s.state} state")
    except BadArguments as exc:
        s.syntax_error(verb, str(exc))
