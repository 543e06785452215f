"""Normalizing domains, addresses and networks; the domain-in-use rule."""

from __future__ import annotations

import ipaddress
import re
import sqlite3
from collections.abc import Iterable

from ..errors import DomainInUse, InvalidInput

_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_LOCAL_FORBIDDEN = set(' "(),:;<>@[\\]\t\r\n')


def normalize_domain(name: str) -> str:
    try:
        cleaned = name.strip().rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidInput("invalid domain name: {name!r}", name=name) from None
    if not _DOMAIN_RE.match(cleaned) or "." not in cleaned:
        raise InvalidInput("invalid domain name: {name!r}", name=name)
    return cleaned


def normalize_address(address: str) -> str:
    """Lowercased local@domain; SMTPUTF8 local parts are allowed, quoting is not."""
    text = address.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    local, sep, domain = text.rpartition("@")
    if not sep or not local or len(local) > 64 or any(c in _LOCAL_FORBIDDEN for c in local):
        raise InvalidInput("invalid address: {address!r}", address=address)
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidInput("invalid address: {address!r}", address=address)
    return f"{local.lower()}@{normalize_domain(domain)}"


def networks(values: Iterable[str]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise InvalidInput("invalid network: {value!r}", value=value) from None
    return out


def refuse_domain_in_use(conn: sqlite3.Connection, domain: str) -> None:
    """Raise DomainInUse naming every mailbox with an address in `domain`."""
    hits = conn.execute(
        "SELECT a.mailbox_id, a.address, m.domain FROM addresses a"
        " JOIN mailboxes m ON m.id = a.mailbox_id"
        # A normalized domain holds no LIKE wildcard (only a-z, 0-9, '-' and '.').
        " WHERE m.domain = ? OR a.address LIKE ('%@' || ?)"
        " ORDER BY a.mailbox_id, a.address",
        (domain, domain),
    ).fetchall()
    if not hits:
        return
    aliases: dict[str, list[str]] = {}
    for mailbox_id, address, own_domain in hits:
        found = aliases.setdefault(mailbox_id, [])
        if own_domain != domain:
            found.append(address)
    entries = [
        f"{mailbox_id} (alias {', '.join(found)})" if found else mailbox_id
        for mailbox_id, found in aliases.items()
    ]
    shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
    raise DomainInUse(
        "domain {domain} still has mailboxes or aliases: {listing};"
        " delete those mailboxes or remove those aliases first",
        domain=domain,
        listing=shown,
        mailboxes=list(aliases),
    )
