"""SEARCH keys (RFC 3501 §6.4.4): parsed into a small tree, evaluated on the index only.

Everything the index knows is searchable: sequence and UID sets, flags, the internal
date (SINCE/BEFORE/ON, compared as UTC calendar days) and the size. Keys that need the
message text (FROM, SUBJECT, BODY, HEADER, SENT*...) parse, but evaluating them is
refused with NO: the server would have to decrypt every message to answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage import MessageInfo

from .parser import Cursor, ParseError, SequenceSet
from .wire import day_of

FLAG_KEYS = {
    "SEEN": ("\\Seen", True),
    "UNSEEN": ("\\Seen", False),
    "DELETED": ("\\Deleted", True),
    "UNDELETED": ("\\Deleted", False),
    "FLAGGED": ("\\Flagged", True),
    "UNFLAGGED": ("\\Flagged", False),
    "ANSWERED": ("\\Answered", True),
    "UNANSWERED": ("\\Answered", False),
    "DRAFT": ("\\Draft", True),
    "UNDRAFT": ("\\Draft", False),
}
# Keys with no argument that match all or nothing here (no \Recent, no keywords).
CONSTANT_KEYS = {"ALL": True, "OLD": True, "NEW": False, "RECENT": False}
DATE_KEYS = ("SINCE", "BEFORE", "ON")
CONTENT_KEYS_1 = ("FROM", "TO", "CC", "BCC", "SUBJECT", "BODY", "TEXT")
SENT_KEYS = ("SENTSINCE", "SENTBEFORE", "SENTON")
MAX_DEPTH = 64


class SearchRefused(Exception):
    """A well-formed key this server cannot evaluate (answered with NO)."""


@dataclass(frozen=True)
class Key:
    kind: str  # const, seq, uid, flag, date, size, not, or, and, keyword, content
    value: Any = None
    args: tuple[Key, ...] = ()


def parse_search(cur: Cursor) -> Key:
    keys = [_key(cur, 0)]
    while cur.take(b" "):
        keys.append(_key(cur, 0))
    return keys[0] if len(keys) == 1 else Key("and", args=tuple(keys))


def _key(cur: Cursor, depth: int) -> Key:
    if depth > MAX_DEPTH:
        raise ParseError("search key nested too deeply")
    if cur.take(b"("):
        keys = [_key(cur, depth + 1)]
        while cur.take(b" "):
            keys.append(_key(cur, depth + 1))
        cur.expect(b")")
        return Key("and", args=tuple(keys))
    if cur.peek().isdigit() or cur.peek() == b"*":
        return Key("seq", cur.sequence_set())
    name = cur.atom("a search key").upper()
    return _named_key(cur, name, depth)


def _named_key(cur: Cursor, name: str, depth: int) -> Key:
    if name in CONSTANT_KEYS:
        return Key("const", CONSTANT_KEYS[name])
    if name in FLAG_KEYS:
        return Key("flag", FLAG_KEYS[name])
    if name == "UID":
        cur.sp()
        return Key("uid", cur.sequence_set())
    if name in DATE_KEYS:
        cur.sp()
        return Key("date", (name, cur.date()))
    if name in ("LARGER", "SMALLER"):
        cur.sp()
        return Key("size", (name, cur.number()))
    if name == "NOT":
        cur.sp()
        return Key("not", args=(_key(cur, depth + 1),))
    if name == "OR":
        cur.sp()
        left = _key(cur, depth + 1)
        cur.sp()
        return Key("or", args=(left, _key(cur, depth + 1)))
    if name in ("KEYWORD", "UNKEYWORD"):
        cur.sp()
        cur.atom("a keyword")
        return Key("const", name == "UNKEYWORD")  # no keywords are ever set here
    return _content_key(cur, name)


def _content_key(cur: Cursor, name: str) -> Key:
    if name in CONTENT_KEYS_1:
        cur.sp()
        cur.astring()
    elif name == "HEADER":
        cur.sp()
        cur.astring()
        cur.sp()
        cur.astring()
    elif name in SENT_KEYS:
        cur.sp()
        cur.date()
    else:
        raise ParseError(f"unknown search key {name[:40]}")
    return Key("content", name)


def check_supported(key: Key) -> None:
    """Raise SearchRefused when the tree holds a key that needs message contents."""
    if key.kind == "content":
        raise SearchRefused(
            f"[CANNOT] SEARCH {key.value} is not supported: messages are stored encrypted,"
            " only flags, dates, sizes and sequence/UID sets can be searched"
        )
    for sub in key.args:
        check_supported(sub)


class Matcher:
    """Evaluates a key for one message given its sequence number."""

    def __init__(self, max_seq: int, max_uid: int) -> None:
        self.max_seq = max_seq
        self.max_uid = max_uid

    def matches(self, key: Key, seq: int, info: MessageInfo) -> bool:
        return getattr(self, f"_{key.kind}")(key, seq, info)

    def _const(self, key: Key, seq: int, info: MessageInfo) -> bool:
        return bool(key.value)

    def _seq(self, key: Key, seq: int, info: MessageInfo) -> bool:
        return in_set(key.value, seq, self.max_seq)

    def _uid(self, key: Key, seq: int, info: MessageInfo) -> bool:
        return in_set(key.value, info.uid, self.max_uid)

    def _flag(self, key: Key, seq: int, info: MessageInfo) -> bool:
        flag, present = key.value
        return (flag in info.flags) == present

    def _date(self, key: Key, seq: int, info: MessageInfo) -> bool:
        op, day = key.value
        received = day_of(info.received)
        if op == "SINCE":
            return received >= day
        if op == "BEFORE":
            return received < day
        return received == day

    def _size(self, key: Key, seq: int, info: MessageInfo) -> bool:
        op, size = key.value
        return info.size > size if op == "LARGER" else info.size < size

    def _not(self, key: Key, seq: int, info: MessageInfo) -> bool:
        return not self.matches(key.args[0], seq, info)

    def _or(self, key: Key, seq: int, info: MessageInfo) -> bool:
        return any(self.matches(k, seq, info) for k in key.args)

    def _and(self, key: Key, seq: int, info: MessageInfo) -> bool:
        return all(self.matches(k, seq, info) for k in key.args)

    def _content(self, key: Key, seq: int, info: MessageInfo) -> bool:
        raise SearchRefused("content search")


def in_set(sequence: SequenceSet, number: int, largest: int) -> bool:
    """Whether `number` is in the set, `*` standing for `largest` (RFC 3501 §9)."""
    for r in sequence:
        first = largest if r.first is None else r.first
        last = largest if r.last is None else r.last
        if min(first, last) <= number <= max(first, last):
            return True
    return False
