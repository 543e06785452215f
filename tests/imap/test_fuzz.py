"""Fuzzing the command parser, alone and through a live server (hypothesis).

Alone: any bytes give a Command (and its verb's grammar a Request) or a ParseError,
nothing else. Live: every fuzzed
command gets well-formed replies ending in a tagged OK/NO/BAD (or an untagged BAD when
no tag could be read, or BYE), and the session never hangs (socket timeouts).
"""

from __future__ import annotations

import asyncio
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.imap.arguments import Request
from gateway.imap.parser import Command, ParseError, parse_command
from gateway.imap.verbs import VERBS

from .conftest import MULTIPART, ImapServer, RawClient, sample_message

COMMANDS = [
    "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "LOGIN", "AUTHENTICATE", "ID", "NAMESPACE",
    "LIST", "LSUB", "STATUS", "SELECT", "EXAMINE", "CLOSE", "UNSELECT", "EXPUNGE", "CHECK",
    "SEARCH", "FETCH", "STORE", "IDLE", "APPEND", "CREATE", "DELETE", "RENAME", "COPY",
    "UID FETCH", "UID SEARCH", "UID STORE", "UID EXPUNGE", "UID", "ENABLE", "XYZZY",
]  # fmt: skip
WORDS = [
    "1", "2", "1:*", "*", "3:1", "0", "4294967296", "1,2:3", "INBOX", "inbox", "Other",
    "(FLAGS)", "(UID FLAGS)", "BODY[]", "BODY.PEEK[]", "BODY[TEXT]<0.5>", "BODY[1.MIME]",
    "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]", "BODY[HEADER.FIELDS.NOT (To)]", "<1.2>",
    "ENVELOPE", "BODYSTRUCTURE", "RFC822", "ALL", "FAST", "FULL", "\\Seen", "\\Deleted",
    "(\\Seen \\Flagged)", "+FLAGS", "-FLAGS.SILENT", "FLAGS", "NIL", '""', "(", ")", "[",
    "]", "{", "}", "%", "\\", '"', "CHARSET", "UTF-8", "OR", "NOT", "SINCE", "1-Jan-2024",
    "LARGER", "UID", "PLAIN", "AGFiYwB4", "=", "(MESSAGES UIDNEXT)", "DONE",
]  # fmt: skip

_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
_junk = st.binary(max_size=12).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@st.composite
def tokens(draw) -> bytes:
    kind = draw(st.integers(0, 6))
    if kind <= 2:
        return draw(st.sampled_from(WORDS)).encode()
    if kind == 3:
        return draw(_text).encode()
    if kind == 4:
        inner = draw(_text).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{inner}"'.encode()
    if kind == 5:
        body = draw(st.binary(max_size=20))
        plus = draw(st.booleans())
        return b"{%d%s}\r\n" % (len(body), b"+" if plus else b"") + body
    return draw(_junk)


SEQ = st.sampled_from(["1", "2:3", "1:*", "*", "4,1", "5", "9", "0", "1:2,4:*"])
FETCH_ATT = st.sampled_from(
    [
        "UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY",
        "RFC822.HEADER", "BODY.PEEK[]<0.10>", "BODY.PEEK[TEXT]", "BODY.PEEK[1]", "BODY[2.MIME]",
        "BODY.PEEK[3.HEADER]", "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]", "BODY.PEEK[4.1]",
    ]
)  # fmt: skip
SEARCH_KEY = st.sampled_from(
    [
        "ALL", "SEEN", "UNSEEN", "DELETED", "FLAGGED", "NOT SEEN", "OR SEEN FLAGGED", "1:2",
        "UID 1:*", "SINCE 1-Jan-2024", "BEFORE 1-Jan-2030", "LARGER 10", "SMALLER 5000",
        "(SEEN UNDELETED)", "FROM x", "NEW", "KEYWORD $x",
    ]
)  # fmt: skip
FLAG_SET = st.lists(
    st.sampled_from(["\\Seen", "\\Deleted", "\\Flagged", "\\Answered", "$Junk"]),
    max_size=3,
)


@st.composite
def structured(draw) -> str:
    """Mostly well-formed commands, so the fuzz reaches the handlers, not only the parser."""
    kind = draw(st.integers(0, 7))
    uid = "UID " if draw(st.booleans()) else ""
    if kind == 0:
        atts = draw(st.lists(FETCH_ATT, min_size=1, max_size=4))
        return f"{uid}FETCH {draw(SEQ)} ({' '.join(atts)})"
    if kind == 1:
        keys = draw(st.lists(SEARCH_KEY, min_size=1, max_size=3))
        return f"{uid}SEARCH {' '.join(keys)}"
    if kind == 2:
        op = draw(st.sampled_from(["FLAGS", "+FLAGS", "-FLAGS", "+FLAGS.SILENT"]))
        return f"{uid}STORE {draw(SEQ)} {op} ({' '.join(draw(FLAG_SET))})"
    if kind == 3:
        return draw(st.sampled_from(["EXPUNGE", "UID EXPUNGE 1:*", "NOOP", "CHECK", "IDLE"]))
    if kind == 4:
        return draw(st.sampled_from(["SELECT INBOX", "EXAMINE INBOX", "UNSELECT", "CLOSE"]))
    if kind == 5:
        return draw(st.sampled_from(['LIST "" *', 'LSUB "" %', "STATUS INBOX (MESSAGES)"]))
    if kind == 6:
        return draw(st.sampled_from(["LOGIN a b", "AUTHENTICATE PLAIN", "STARTTLS", "LOGOUT"]))
    return draw(st.sampled_from(["NAMESPACE", 'ID ("a" "b")', "CAPABILITY", "APPEND INBOX {3}"]))


@st.composite
def commands(draw) -> bytes:
    tag = draw(st.sampled_from([b"f1", b"A.2", b"x", b"(", b"", b"+t", b"*"]))
    if draw(st.integers(0, 2)):
        return b"f%d " % draw(st.integers(0, 99)) + draw(structured()).encode()
    name = draw(st.sampled_from(COMMANDS)).encode()
    if draw(st.integers(0, 9)) == 0:
        name = name.lower()
    args = draw(st.lists(tokens(), max_size=6))
    sep = b" " if draw(st.integers(0, 5)) else b""
    return b" ".join([tag, name]) + b"".join(sep + a for a in args)


@given(st.binary(max_size=400))
@settings(max_examples=400, deadline=None)
def test_parser_never_raises_anything_else_on_bytes(data: bytes) -> None:
    check_parse(data + b"\r\n")


@given(commands())
@settings(max_examples=600, deadline=None)
def test_parser_on_command_shaped_input(data: bytes) -> None:
    check_parse(data + b"\r\n")


def check_parse(data: bytes) -> None:
    """The head, then the verb's own grammar: a Request or a ParseError, nothing else."""
    try:
        command = parse_command(data)
        verb = VERBS.get(command.name)
        request = verb.parse(command) if verb is not None else None
    except ParseError as exc:
        assert exc.tag is None or data.startswith(exc.tag.encode())
        return
    assert isinstance(command, Command) and data.startswith(command.tag.encode())
    assert request is None or isinstance(request, Request)


# --- through a live server ------------------------------------------------------------

REPLY = re.compile(rb"^(\* |\+ |[^ ]+ (OK|NO|BAD) )")
_LITERAL_END = re.compile(rb"\{\d+\}\r\n")


class FuzzClient:
    def __init__(self, imap: ImapServer) -> None:
        self.imap = imap
        self.raw: RawClient | None = None

    def session(self) -> RawClient:
        if self.raw is None:
            raw = RawClient(self.imap.port)
            raw.sock.settimeout(20)
            raw.starttls(self.imap.client_tls)
            raw.cmd(f'l1 LOGIN "{self.imap.alias}" "{self.imap.passphrase}"')
            raw.cmd("s1 SELECT INBOX")
            self.raw = raw
        return self.raw

    def run(self, command: bytes) -> list[bytes]:
        raw = self.session()
        tag = command.split(b" ", 1)[0]
        parts = _split_at_sync_literals(command + b"\r\n")
        lines: list[bytes] = []
        try:
            for index, part in enumerate(parts):
                raw.send(part)
                if index < len(parts) - 1:
                    line = raw.line()
                    lines.append(line)
                    if not line.startswith(b"+ "):
                        return self._finish(lines, tag, already=line)
            return self._finish(lines, tag)
        except EOFError:
            self.close()
            assert lines and lines[-1].startswith(b"* BYE"), lines
            return lines

    def _finish(self, lines: list[bytes], tag: bytes, already: bytes | None = None) -> list[bytes]:
        raw = self.raw
        assert raw is not None
        line = already
        while True:
            if line is not None:
                assert REPLY.match(line), line
                if _is_final(line, tag):
                    if line.startswith(b"* BYE") or b" OK LOGOUT" in line:
                        self.close()
                    return lines
                if line.startswith(b"+ "):
                    raw.send(b"DONE\r\n")  # ends IDLE; a bad SASL answer ends AUTHENTICATE
            line = raw.line()
            lines.append(line)

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()
            self.raw = None


def _is_final(line: bytes, tag: bytes) -> bool:
    if line.startswith(b"* BAD") or line.startswith(b"* BYE"):
        return True
    return (
        bool(tag) and line.startswith(tag + b" ") and line.split(b" ")[1] in (b"OK", b"NO", b"BAD")
    )


def _split_at_sync_literals(data: bytes) -> list[bytes]:
    """Pieces to send separately: each ends just after a synchronizing literal's {n}CRLF."""
    parts, start = [], 0
    for m in _LITERAL_END.finditer(data):
        parts.append(data[start : m.end()])
        start = m.end()
    parts.append(data[start:])
    return [p for p in parts if p]


async def test_live_server_answers_every_fuzzed_command(imap: ImapServer) -> None:
    for n in range(3):
        imap.deliver(sample_message(n))
    imap.deliver(MULTIPART)
    client = FuzzClient(imap)

    @given(st.lists(commands(), min_size=1, max_size=4))
    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def check(batch: list[bytes]) -> None:
        for command in batch:
            client.run(command)
        # The session (or a fresh one after LOGOUT/BYE) still answers.
        assert client.run(b"z9 NOOP")[-1].startswith(b"z9 ")

    try:
        await asyncio.to_thread(check)
    finally:
        client.close()
