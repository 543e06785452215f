"""The trace headers of a fetched message: the SMTP path's own helper (gateway/smtp/trace.py),
with the source server as the client and no envelope (so no Return-Path): a
``Delivered-To`` for the mailbox's primary address and a ``Received`` line naming the
source host, its address, the protocol (POP3S, IMAPS, or POP3/IMAP in clear), the TLS
version and cipher, and the stored message id."""

from __future__ import annotations

import datetime
from typing import Any

from storage.sources import Source

from ..smtp.trace import Arrival, trace_headers


def fetched_trace_headers(
    source: Source, session: Any, primary: str, message_id: str, hostname: str
) -> bytes:
    tls = session.tls
    protocol = source.settings.protocol.upper() + ("S" if tls else "")
    arrival = Arrival(
        sender=None,
        helo=source.settings.host,
        client_ip=session.peer,
        hostname=hostname,
        protocol=protocol,
        tls=tls,
        when=datetime.datetime.now(datetime.UTC),
    )
    return trace_headers(arrival, [primary], primary, message_id)
