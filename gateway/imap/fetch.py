"""FETCH: message data items, with bodies streamed as literals in constant memory.

A body literal's size is known before its first byte is sent (MessageInfo.size, or
offsets from a MIME walk), so bodies stream from the store chunk by chunk with flow
control. A message that fails authentication mid-stream cannot be finished honestly:
the connection is dropped (and the event logged and audited).

Header-only items (ENVELOPE, BODY[HEADER...], BODY[TEXT]) decrypt only up to the end
of the header; BODYSTRUCTURE and part sections walk the whole message once. Both
results are cached per session, in memory only, for a few recent messages. All the
items of one message in one FETCH read one Plaintext (plaintext.py): the message is
decrypted once for all of them (up to its memory bound).
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass

from storage import MessageDamaged, MessageInfo, NotFound, StoreError
from storage.actions.audit import AuditAction

from .arguments import FetchArgs, Request
from .fetch_items import FetchAtt, Section
from .mime import MimeWalker, Node, split_fields
from .plaintext import Plaintext
from .state import ImapSession, Reply
from .structure import body_structure, envelope
from .updates import presync
from .wire import flag_list, internal_date, literal

log = logging.getLogger("gateway.imap")
CACHE_ENTRIES = 16
FLUSH_BYTES = 256 * 1024


@dataclass(frozen=True)
class Stream:
    """A byte range of the message's plaintext, sent as a literal."""

    start: int
    end: int


def _needs(items: list[FetchAtt]) -> str:
    """ "tree" (whole-message walk), "header" (header only) or "" (index data only)."""
    need = ""
    for item in items:
        if item.name in ("BODYSTRUCTURE", "BODY") or (item.section and item.section.parts):
            return "tree"
        if item.name in ("ENVELOPE", "RFC822.HEADER", "RFC822.TEXT"):
            need = "header"
        elif item.section and item.section.spec:
            need = "header"
    return need


def resolve(root: Node, parts: tuple[int, ...]) -> Node | None:
    """The entity a section part number names (RFC 3501 §6.4.5)."""
    node = root
    for n in parts:
        if node is not root and node.message is not None:
            node = node.message
        if node.boundary is not None:
            if n > len(node.children):
                return None
            node = node.children[n - 1]
        elif n != 1:
            return None
    return node


def header_block(node: Node) -> bytes | Stream:
    """The header of an entity, with its blank line: from memory unless it was cut."""
    body_start = node.body_start or 0
    if node.header_truncated:
        return Stream(node.start, body_start)
    blank = body_start - node.start - len(node.header)
    return bytes(node.header) + (b"\r\n"[-blank:] if 0 < blank <= 2 else b"")


def header_fields(node: Node, names: tuple[str, ...], keep: bool) -> bytes:
    wanted = {n.lower() for n in names}
    out = [
        f
        for f in split_fields(bytes(node.header))
        if (f.split(b":", 1)[0].strip().decode("latin-1").lower() in wanted) == keep
    ]
    return b"".join(out) + b"\r\n"


def section_value(root: Node, section: Section, size: int) -> bytes | Stream:
    if not section.parts and not section.spec:
        return Stream(0, size)
    node = resolve(root, section.parts) if section.parts else root
    if node is None:
        return b""
    if section.spec == "":
        return Stream(node.body_start or 0, node.end if node.end is not None else size)
    if section.spec == "MIME":
        return header_block(node)
    target = root if not section.parts else node.message
    if target is None:
        return b""
    if section.spec == "TEXT":
        end = target.end if target.end is not None else size
        return Stream(target.body_start or 0, end)
    if section.spec == "HEADER":
        return header_block(target)
    return header_fields(target, section.fields, keep=section.spec == "HEADER.FIELDS")


def apply_partial(value: bytes | Stream, partial: tuple[int, int] | None) -> bytes | Stream:
    if partial is None:
        return value
    origin, count = partial
    if isinstance(value, bytes):
        return value[origin : origin + count]
    start = min(value.start + origin, value.end)
    return Stream(start, min(value.end, start + count))


async def fetch(s: ImapSession, req: Request[FetchArgs]) -> Reply:
    view = s.selected
    if not req.uid and not view.seq_range_valid(req.args.set):
        return "BAD", "invalid message sequence number"
    await presync(s, req)
    items = list(req.args.items)
    if req.uid and not any(i.name == "UID" for i in items):
        items.insert(0, FetchAtt("UID"))
    skipped = False
    for seq, info in view.select(req.args.set, req.uid):
        if info.uid in view.ghosts:
            skipped = True
            continue
        try:
            await _fetch_one(s, seq, info, items)
        except MessageDamaged:
            if s.mid_response or await _still_stored(s, info):
                raise
            skipped = True  # expunged by another session since the last sync
    if skipped:
        return "NO", "[EXPUNGEISSUED] some messages were expunged by another session"
    return "OK", "FETCH completed"


async def _fetch_one(s: ImapSession, seq: int, info: MessageInfo, items: list[FetchAtt]) -> None:
    view = s.selected
    s.current_message = info
    if any(i.sets_seen for i in items) and not view.read_only and "\\Seen" not in info.flags:
        updated = await s.ctx.store.messages.set_flags(
            view.mailbox_id, [info.id], ["\\Seen"], "add"
        )
        if updated:
            info = updated[0]
            view.update_message(info)
            if not any(i.name == "FLAGS" for i in items):
                items = [*items, FetchAtt("FLAGS")]
    key = s.logged_in.key
    plaintext = Plaintext(lambda: s.ctx.store.iter_message(key, info), info.size)
    try:
        need = _needs(items)
        root = await _tree(s, info, plaintext) if need == "tree" else None
        if need == "header":
            root = await _head(s, info, plaintext)
        pieces = [(item.label(), _value(item, info, root)) for item in items]
        await _write(s, seq, pieces, plaintext)
    finally:
        await plaintext.aclose()
    s.current_message = None


def _value(item: FetchAtt, info: MessageInfo, root: Node | None) -> bytes | Stream:
    name = item.name
    if name == "UID":
        return b"%d" % info.uid
    if name == "FLAGS":
        return flag_list(info.flags)
    if name == "INTERNALDATE":
        return internal_date(info.received)
    if name == "RFC822.SIZE":
        return b"%d" % max(info.size, 0)
    if name == "RFC822":
        return Stream(0, info.size)
    if item.section is not None:
        value = section_value(root, item.section, info.size) if root else Stream(0, info.size)
        return _as_literal(apply_partial(value, item.partial))
    assert root is not None
    if name == "ENVELOPE":
        return envelope(root)
    if name in ("BODYSTRUCTURE", "BODY"):
        return body_structure(root, extensible=name == "BODYSTRUCTURE")
    if name == "RFC822.HEADER":
        return _as_literal(header_block(root))
    return Stream(root.body_start or 0, info.size)  # RFC822.TEXT


async def _write(s: ImapSession, seq: int, pieces: list, plaintext: Plaintext) -> None:
    s.conn.write(b"* %d FETCH (" % seq)
    s.mid_response = True
    for index, (label, value) in enumerate(pieces):
        s.conn.write((b" " if index else b"") + label + b" ")
        if isinstance(value, Stream):
            await _stream(s, value, plaintext)
        else:
            s.conn.write(value)
    s.conn.write(b")\r\n")
    s.mid_response = False
    await s.conn.drain()


async def _stream(s: ImapSession, rng: Stream, plaintext: Plaintext) -> None:
    s.conn.write(b"{%d}\r\n" % (rng.end - rng.start))
    if rng.end <= rng.start:
        return
    sent = pending = 0
    async with contextlib.aclosing(plaintext.read(rng.start, rng.end)) as pieces:
        async for piece in pieces:
            s.conn.write(piece)
            sent += len(piece)
            pending += len(piece)
            if pending >= FLUSH_BYTES:
                await s.conn.drain()
                pending = 0
    if sent != rng.end - rng.start:
        info = s.current_message
        raise MessageDamaged(f"message {info.id if info else ''} is shorter than its index entry")


async def _still_stored(s: ImapSession, info: MessageInfo) -> bool:
    try:
        await s.ctx.store.messages.get(info.mailbox_id, info.id)
    except NotFound:
        return False
    return True


# --- cached walks ------------------------------------------------------------------------
async def _head(s: ImapSession, info: MessageInfo, plaintext: Plaintext) -> Node:
    cached = s.trees.get(info.uid) or s.heads.get(info.uid)
    if cached is not None:
        return cached
    walker = await _walk(plaintext, header_only=True)
    root = walker.root if walker.header_done else walker.finish()
    _remember(s.heads, info.uid, root)
    return root


async def _tree(s: ImapSession, info: MessageInfo, plaintext: Plaintext) -> Node:
    cached = s.trees.get(info.uid)
    if cached is not None:
        return cached
    root = (await _walk(plaintext, header_only=False)).finish()
    if root.end != info.size:
        raise MessageDamaged(f"message {info.id} does not match its index entry")
    _remember(s.trees, info.uid, root)
    return root


async def _walk(plaintext: Plaintext, header_only: bool) -> MimeWalker:
    """Feed the message to a MimeWalker: whole, or until its header is complete."""
    walker = MimeWalker()
    async with contextlib.aclosing(plaintext.read()) as chunks:
        async for chunk in chunks:
            walker.feed(bytes(chunk))  # whole chunks: bytes already, not copied
            if header_only and walker.header_done:
                break
    return walker


async def message_damaged(s: ImapSession) -> None:
    """Log and audit (ids only), then drop the connection: no damaged data is finished.

    Audited like POP3: actor "retrieval", target the mailbox, detail the message id.
    """
    info = s.current_message
    mailbox_id, message_id = (info.mailbox_id, info.id) if info else ("", "")
    log.error(
        "imap %s: message %s failed authentication; connection dropped", mailbox_id, message_id
    )
    s.ctx.metrics.imap_damaged.inc()
    with contextlib.suppress(StoreError):
        await s.ctx.store.audit.record(
            "retrieval",
            str(AuditAction.IMAP_MESSAGE_DAMAGED),
            mailbox_id,
            message_id,
            s.conn.client_ip,
        )
    if s.mid_response:
        s.conn.abort()
        return
    with contextlib.suppress(Exception):
        await s.conn.send(b"* BYE [SERVERBUG] a stored message failed authentication\r\n")
    s.conn.close()


def _as_literal(value: bytes | Stream) -> bytes | Stream:
    return literal(value) if isinstance(value, bytes) else value


def _remember(cache: OrderedDict[int, Node], uid: int, node: Node) -> None:
    cache[uid] = node
    cache.move_to_end(uid)
    while len(cache) > CACHE_ENTRIES:
        cache.popitem(last=False)
