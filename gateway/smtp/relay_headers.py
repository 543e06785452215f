"""What the relay path reads from a message's header section, and what it adds.

A relayed copy is the message exactly as received (the bytes the local copy stores
after its own trace headers), preceded by two header lines of ours:

    Received: from HELO ([IP]) by HOSTNAME (Journal Gateway) with ESMTPS; DATE
    X-Journal-Gateway-Relayed-By: HOSTNAME; mark=MARK

The Received line is what RFC 5321 §4.4 asks of every relay and is what the hop limit
(relay.max_received) counts; MARK is the relaying mailbox's keyed chain mark
(storage contract Relays.chain_mark), so the mailbox recognises its own copy when a
target's onward relaying brings it back.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field

from .trace import PRODUCT, Arrival, _address_literal, _helo

RELAYED_BY = "X-Journal-Gateway-Relayed-By"
_MARK = re.compile(rb"mark=([0-9a-f]{32})")


@dataclass
class HeaderFacts:
    """Read from the top-level header section only."""

    received: int = 0
    message_id: str = ""
    chain_marks: set[str] = field(default_factory=set)


def header_facts(header: bytes) -> HeaderFacts:
    """Received count, Message-ID and our relayed-by marks of a CRLF header section."""
    facts = HeaderFacts()
    for name, value in _fields(header):
        if name == b"received":
            facts.received += 1
        elif name == b"message-id" and not facts.message_id:
            facts.message_id = value.strip().decode("utf-8", "replace")[:998]
        elif name == RELAYED_BY.lower().encode():
            facts.chain_marks.update(m.decode() for m in _MARK.findall(value))
    return facts


def relay_prefix(arrival: Arrival, chain_mark: str) -> bytes:
    """The two header lines put in front of every relayed copy, CRLF-terminated."""
    tls = f" ({arrival.tls[0]} {arrival.tls[1]})" if arrival.tls else ""
    received = (
        f"Received: from {_helo(arrival.helo)} ({_address_literal(arrival.client_ip)})\r\n"
        f"\tby {arrival.hostname} ({PRODUCT}) with {arrival.protocol}{tls};"
        f" {email.utils.format_datetime(arrival.when)}"
    )
    marker = f"{RELAYED_BY}: {arrival.hostname}; mark={chain_mark}"
    return f"{received}\r\n{marker}\r\n".encode("utf-8", "surrogateescape")


def _fields(header: bytes) -> list[tuple[bytes, bytes]]:
    fields: list[tuple[bytes, bytes]] = []
    for line in header.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b" " + line.strip())
            continue
        name, sep, value = line.partition(b":")
        if sep:
            fields.append((name.strip().lower(), value))
    return fields
