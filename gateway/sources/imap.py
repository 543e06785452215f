"""An IMAP source session over the standard library's imaplib.

imaplib reads every literal whole into memory; `_Streaming` hands the one literal of a
`UID FETCH n (BODY.PEEK[])` to a sink in 64 KiB chunks instead, so memory stays
bounded whatever the message size. Messages are flagged \\Deleted only after their
local commit, and expunged (UID EXPUNGE where the server has UIDPLUS) at the end of
each folder.
"""

from __future__ import annotations

import base64
import imaplib
import re
import ssl
from collections.abc import Callable
from typing import Any

from storage.sources import SourceSettings

from .tls import FetchError, checked_connection, client_context, describe_tls_error

CHUNK = 64 * 1024
_FETCH_ITEM = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)")


class _Streaming:
    """Mixed into imaplib's classes: the next literal goes to `literal_sink` if set."""

    literal_sink: Callable[[bytes], None] | None = None
    file: Any

    def read(self, size: int) -> bytes:
        sink, self.literal_sink = self.literal_sink, None
        if sink is None:
            return self.file.read(size)
        remaining = size
        while remaining:
            chunk = self.file.read(min(CHUNK, remaining))
            if not chunk:
                raise imaplib.IMAP4.abort("the connection closed inside a message literal")
            sink(chunk)
            remaining -= len(chunk)
        return b""


class _Plain(_Streaming, imaplib.IMAP4):
    pass


class _Tls(_Streaming, imaplib.IMAP4_SSL):
    pass


def quote(name: str) -> str:
    """A folder name as an IMAP quoted string, non-ASCII names in modified UTF-7
    (RFC 3501 5.1.3): "Entwürfe" is sent as "Entw&APw-rfe"."""
    encoded = _modified_utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _modified_utf7(name: str) -> str:
    out, pending = [], ""

    def flush() -> None:
        nonlocal pending
        if pending:
            raw = base64.b64encode(pending.encode("utf-16-be")).decode("ascii")
            out.append("&" + raw.rstrip("=").replace("/", ",") + "-")
            pending = ""

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending += char
    flush()
    return "".join(out)


class ImapSource:
    def __init__(self, settings: SourceSettings, timeout: float) -> None:
        self.settings = settings
        try:
            self._client = self._connect(settings, timeout)
        except TimeoutError:
            raise FetchError("timeout", f"{settings.host} did not answer in time") from None
        except ssl.SSLError as exc:
            raise describe_tls_error(exc, settings.host) from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise FetchError(
                "connect", f"cannot reach {settings.host}:{settings.port}: {exc}"
            ) from None
        self.tls, self.peer = checked_connection(self._client.sock, settings)

    @staticmethod
    def _connect(settings: SourceSettings, timeout: float) -> imaplib.IMAP4:
        if settings.tls == "implicit":
            return _Tls(
                settings.host, settings.port, ssl_context=client_context(settings), timeout=timeout
            )
        client = _Plain(settings.host, settings.port, timeout=timeout)
        if settings.tls == "starttls":
            try:
                client.starttls(client_context(settings))
            except imaplib.IMAP4.error as exc:
                client.shutdown()
                raise FetchError("tls", f"{settings.host} refused STARTTLS: {exc}") from None
        return client

    def login(self, secret: dict[str, str], access_token: str | None = None) -> None:
        """LOGIN with the password, or AUTHENTICATE XOAUTH2 with an OAuth2 access token."""
        user = self.settings.username
        try:
            if access_token is None:
                self._client.login(user, secret["password"])
            else:
                blob = f"user={user}\x01auth=Bearer {access_token}\x01\x01".encode()
                # A non-empty challenge is the server's error report: answer it empty
                # (never send the token twice), and the server ends the exchange.
                self._client.authenticate("XOAUTH2", lambda challenge: b"" if challenge else blob)
        except imaplib.IMAP4.error as exc:
            raise FetchError("auth", f"{self.settings.host} refused the login: {exc}") from None

    def select(
        self, folder: str, readonly: bool | None = None
    ) -> tuple[int, list[tuple[int, int]]]:
        """Open `folder` (read-only, EXAMINE, in keep mode or when `readonly`):
        (UIDVALIDITY, [(uid, size)])."""
        examine = self.settings.keep if readonly is None else readonly
        typ, data = self._client.select(quote(folder), readonly=examine)
        if typ != "OK":
            raise FetchError("protocol", f"cannot open folder {folder!r}: {_text(data)}")
        validity = self._client.response("UIDVALIDITY")[1]
        if not validity or not validity[0]:
            raise FetchError("protocol", f"{self.settings.host} sent no UIDVALIDITY for {folder!r}")
        exists = int(data[0] or 0)
        if not exists:
            return int(validity[0]), []
        typ, lines = self._client.uid("FETCH", "1:*", "(UID RFC822.SIZE)")
        if typ != "OK":
            raise FetchError("protocol", f"cannot list folder {folder!r}: {_text(lines)}")
        return int(validity[0]), [m for m in map(_uid_size, lines) if m is not None]

    def retrieve(self, uid: int, write: Callable[[bytes], None]) -> bool:
        """Stream message `uid` (BODY.PEEK[]: leaves \\Seen alone) into `write`; False when
        the server had no such message any more."""
        got = []

        def sink(chunk: bytes) -> None:
            got.append(True)
            write(chunk)

        self._client.literal_sink = sink  # type: ignore[attr-defined]
        try:
            typ, data = self._client.uid("FETCH", str(uid), "(BODY.PEEK[])")
        finally:
            self._client.literal_sink = None  # type: ignore[attr-defined]
        if typ != "OK":
            raise FetchError("protocol", f"fetching UID {uid} failed: {_text(data)}")
        return bool(got)

    def delete(self, uid: int) -> None:
        typ, data = self._client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
        if typ != "OK":
            raise FetchError("protocol", f"flagging UID {uid} \\Deleted failed: {_text(data)}")

    def expunge(self, uids: list[int]) -> None:
        if not uids:
            return
        if "UIDPLUS" in self._client.capabilities:
            self._client.uid("EXPUNGE", ",".join(map(str, uids)))
        else:
            self._client.expunge()

    def quit(self) -> None:
        self._client.logout()

    def close(self) -> None:
        try:
            self._client.shutdown()
        except OSError:
            pass


def _uid_size(line: Any) -> tuple[int, int] | None:
    if not isinstance(line, bytes):
        return None
    uid = size = None
    for found_uid, found_size in _FETCH_ITEM.findall(line):
        uid = int(found_uid) if found_uid else uid
        size = int(found_size) if found_size else size
    return None if uid is None else (uid, size or 0)


def _text(data: Any) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data or []]
    return " ".join(parts)[:200]
