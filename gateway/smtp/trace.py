"""Trace headers prepended to each stored copy (inside the encryption).

Per copy: ``Return-Path`` (SMTP only: fetched mail has no envelope), then
``X-Original-To`` for each envelope recipient that is not the mailbox's primary
address, ``Delivered-To`` for each envelope recipient of *that* mailbox (never
another mailbox's), and one ``Received`` line (RFC 5321 §4.4) naming the client, the
TLS version and cipher, and the stored message id. Mail fetched from a POP3/IMAP
source uses the same helper (gateway/sources/trace.py).
"""

from __future__ import annotations

import datetime
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass

PRODUCT = "Journal Gateway"


@dataclass(frozen=True)
class Arrival:
    """What the session knows about one transaction, independent of the mailbox."""

    sender: str | None  # reverse path without brackets; "" for the null path <>; None
    # when there was no SMTP envelope (mail fetched from a POP3/IMAP source): no Return-Path
    helo: str
    client_ip: str
    hostname: str
    protocol: str  # SMTP, ESMTP, ESMTPS ...
    tls: tuple[str, str] | None  # (version, cipher)
    when: datetime.datetime


def trace_headers(
    arrival: Arrival, recipients: Sequence[str], primary: str, message_id: str
) -> bytes:
    """The header lines for one mailbox's copy, CRLF-terminated, UTF-8 where needed."""
    lines = [] if arrival.sender is None else [f"Return-Path: <{_clean(arrival.sender)}>"]
    for rcpt in recipients:
        if rcpt.lower() != primary.lower():
            lines.append(f"X-Original-To: {_clean(rcpt)}")
    lines.extend(f"Delivered-To: {_clean(rcpt)}" for rcpt in recipients)
    lines.append(_received(arrival, message_id))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")


def _received(arrival: Arrival, message_id: str) -> str:
    tls = f" ({arrival.tls[0]} {arrival.tls[1]})" if arrival.tls else ""
    date = email.utils.format_datetime(arrival.when)
    return (
        f"Received: from {_helo(arrival.helo)} ({_address_literal(arrival.client_ip)})\r\n"
        f"\tby {arrival.hostname} ({PRODUCT}) with {arrival.protocol}{tls}\r\n"
        f"\tid {message_id}; {date}"
    )


def _address_literal(ip: str) -> str:
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"


def _helo(value: str) -> str:
    """The client's HELO argument, reduced to characters safe in a header token."""
    cleaned = "".join(c if 0x21 <= ord(c) <= 0x7E and c not in "()\\;" else "?" for c in value)
    return cleaned[:255] or "unknown"


def _clean(address: str) -> str:
    """Envelope addresses never hold CR/LF (they come from one command line)."""
    return address.replace("\r", "").replace("\n", "")
