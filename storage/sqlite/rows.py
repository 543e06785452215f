"""sqlite3.Row → model conversions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from ..keys import KdfParams, SealedSeed
from ..models import Admin, AdminSession, ApiToken, AuditEntry, Mailbox, MessageInfo


def mailbox(row: sqlite3.Row, addresses: list[str]) -> Mailbox:
    return Mailbox(
        id=row["id"],
        domain=row["domain"],
        name=row["name"],
        description=row["description"],
        status=row["status"],
        quota=row["quota"],
        addresses=tuple(addresses),
        allowed_networks=tuple(json.loads(row["allowed_networks"])),
        protocols=tuple(json.loads(row["protocols"])),
        uidvalidity=row["uidvalidity"],
        created=row["created"],
        last_login=row["last_login"],
        messages=row["message_count"],
        bytes=row["stored_bytes"],
        settings=json.loads(row["settings"]),
        passphrase_set_at=row["passphrase_set_at"],
    )


# listed_message reads `SELECT id, mailbox_id, uid, epoch, size, stored_size, received,
# flags, encoding, path, sha256` (MessageInfo's field order) by position: a mailbox's
# listing builds one object per message, and by position is a third cheaper than by name.
_NO_FLAGS: frozenset[str] = frozenset()


def flag_set(flags: str) -> frozenset[str]:
    """The flags column ("\\Seen \\Answered", "" for none) as a set."""
    return frozenset(flags.split(" ")) - {""} if flags else _NO_FLAGS


def listed_message(row: Sequence[Any]) -> MessageInfo:
    """A row of the columns above, in that order, as a MessageInfo."""
    return MessageInfo(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        flag_set(row[7]),
        row[8],
        row[9],
        row[10],
    )


def message(row: sqlite3.Row) -> MessageInfo:
    flags = frozenset(f for f in row["flags"].split(" ") if f)
    return MessageInfo(
        id=row["id"],
        mailbox_id=row["mailbox_id"],
        uid=row["uid"],
        epoch=row["epoch"],
        size=row["size"],
        stored_size=row["stored_size"],
        received=row["received"],
        flags=flags,
        encoding=row["encoding"],
        path=row["path"],
        sha256=row["sha256"],
    )


def sealed_seed(row: sqlite3.Row) -> SealedSeed:
    return SealedSeed(
        mailbox_id=row["mailbox_id"],
        epoch=row["epoch"],
        kind=row["kind"],
        recipient=row["recipient"],
        salt=row["salt"],
        nonce=row["nonce"],
        ciphertext=row["sealed_seed"],
        kdf=KdfParams(row["kdf_memory_kib"], row["kdf_iterations"], row["kdf_lanes"]),
    )


def admin(row: sqlite3.Row) -> Admin:
    return Admin(
        name=row["name"],
        role=row["role"],
        domains=tuple(json.loads(row["domains"])),
        disabled=bool(row["disabled"]),
        totp_enabled=row["totp_secret"] is not None,
        created=row["created"],
        language=row["language"],
    )


def audit(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        time=row["time"],
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        detail=row["detail"],
        source=row["source"],
    )


def admin_session(row: sqlite3.Row) -> AdminSession:
    return AdminSession(
        id=row["id"],
        admin=row["admin"],
        created=row["created"],
        last_seen=row["last_seen"],
        source=row["source"],
        user_agent=row["user_agent"],
        data=json.loads(row["data"]),
    )


def api_token(row: sqlite3.Row) -> ApiToken:
    return ApiToken(row["id"], row["admin"], row["name"], row["created"], row["last_used"])


def flags_text(flags: frozenset[str] | set[str]) -> str:
    return " ".join(sorted(flags))
