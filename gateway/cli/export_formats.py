"""Writers for `mailbox export`: mbox (mboxrd), Maildir and one .eml file per message.

Each writer takes one message at a time as an iterator of plaintext chunks. A message
whose decryption fails part-way (MessageDamaged) leaves nothing behind: the mbox is
truncated back to where the message began, Maildir and .eml files are written under a
temporary name and renamed only when complete.

mbox and Maildir use Unix line endings (CRLF becomes LF), as local mail tools expect;
.eml files are byte-for-byte what was stored.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from storage import MessageInfo

FORMATS = ("mbox", "maildir", "eml")
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
_RETURN_PATH = re.compile(rb"^Return-Path:[ \t]*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_MAILDIR_FLAGS = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}


class Writer(Protocol):
    def add(self, info: MessageInfo, chunks: Iterable[bytes]) -> None: ...

    def close(self) -> None: ...


def unix_lines(chunks: Iterable[bytes], quote_from: bool) -> Iterator[bytes]:
    """Chunks rewritten with LF line endings, `>`-quoting `From ` lines (mboxrd) if asked.

    Work is done on whole lines, so a line split across chunks is handled correctly.
    """
    pending = b""
    for chunk in chunks:
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        if cut:
            yield _rewrite(pending[:cut], quote_from)
            pending = pending[cut:]
    if pending:
        yield _rewrite(pending, quote_from)


def _rewrite(lines: bytes, quote_from: bool) -> bytes:
    lines = lines.replace(b"\r\n", b"\n")
    return _FROM_LINE.sub(rb">\1", lines) if quote_from else lines


def envelope_sender(head: bytes) -> str:
    """The Return-Path address in the message head for the From_ line, or MAILER-DAEMON."""
    match = _RETURN_PATH.search(head.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0])
    return _ascii_address(match.group(1)) if match else "MAILER-DAEMON"


def _ascii_address(raw: bytes) -> str:
    """`raw` as printable ASCII, which mbox readers (Python's mailbox, mutt) require of
    the From_ line: an internationalized domain becomes its IDNA A-label; a UTF-8 local
    part has no ASCII form, so that sender is MAILER-DAEMON. The message keeps its
    Return-Path header byte for byte either way."""
    try:
        local, at, domain = raw.decode("utf-8").rpartition("@")
        if at and not domain.isascii():
            domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "MAILER-DAEMON"
    address = f"{local}@{domain}" if at else domain
    if not address.isascii() or not address.isprintable():
        return "MAILER-DAEMON"
    return address


class MboxWriter:
    """One mbox file in the mboxrd dialect: From_ line, quoted From lines, blank line."""

    def __init__(self, path: Path) -> None:
        self._fh: BinaryIO = open(path, "xb")  # closed by close()

    def add(self, info: MessageInfo, chunks: Iterable[bytes]) -> None:
        start = self._fh.tell()
        try:
            self._write(info, iter(chunks))
        except BaseException:
            self._fh.seek(start)
            self._fh.truncate()
            raise

    def _write(self, info: MessageInfo, chunks: Iterator[bytes]) -> None:
        first = next(chunks, b"")
        stamp = time.asctime(time.gmtime(info.received))
        self._fh.write(f"From {envelope_sender(first)} {stamp}\n".encode())
        last = b"\n"
        for piece in unix_lines(_chain(first, chunks), quote_from=True):
            if piece:
                self._fh.write(piece)
                last = piece
        self._fh.write(b"\n" if last.endswith(b"\n") else b"\n\n")

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _write_atomically(temp: Path, final: Path, data: Iterable[bytes]) -> None:
    try:
        with open(temp, "xb") as fh:
            for piece in data:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    os.rename(temp, final)


class MaildirWriter:
    """A Maildir: unread messages in new/, messages with flags in cur/ with :2,FLAGS."""

    def __init__(self, path: Path) -> None:
        self.root = path
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)

    def add(self, info: MessageInfo, chunks: Iterable[bytes]) -> None:
        name = f"{int(info.received)}.{info.id}.journal-gateway"
        flags = "".join(sorted(_MAILDIR_FLAGS[f] for f in info.flags if f in _MAILDIR_FLAGS))
        final = self.root / "cur" / f"{name}:2,{flags}" if flags else self.root / "new" / name
        data = unix_lines(chunks, quote_from=False)
        _write_atomically(self.root / "tmp" / name, final, data)

    def close(self) -> None:
        _fsync_dir(self.root / "new")
        _fsync_dir(self.root / "cur")


class EmlWriter:
    """One RFC 5322 file per message, named <received time>-<message id>.eml."""

    def __init__(self, path: Path) -> None:
        self.root = path
        path.mkdir(parents=True, exist_ok=True)

    def add(self, info: MessageInfo, chunks: Iterable[bytes]) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(info.received))
        final = self.root / f"{stamp}-{info.id}.eml"
        _write_atomically(self.root / f".{info.id}.tmp", final, chunks)

    def close(self) -> None:
        _fsync_dir(self.root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_target(fmt: str, path: Path) -> str | None:
    """Why `path` cannot receive an export of format `fmt`, or None when it can."""
    if fmt == "mbox":
        return f"{path} already exists; choose a new file name" if path.exists() else None
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        return f"{path} already exists and is not an empty directory"
    return None


def open_writer(fmt: str, path: Path) -> Writer:
    writers: dict[str, type] = {"mbox": MboxWriter, "maildir": MaildirWriter, "eml": EmlWriter}
    return writers[fmt](path)
