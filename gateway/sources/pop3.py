"""A POP3 source session over the standard library's poplib.

RETR is read line by line straight from the socket (dot-unstuffed, CRLF kept) into a
sink, so a message is never held in memory whole. DELE marks a message; the source
removes it only at QUIT, which the fetcher sends after every local commit.
"""

from __future__ import annotations

import poplib
import ssl
from collections.abc import Callable

from storage.sources import SourceSettings

from .tls import FetchError, checked_connection, client_context, describe_tls_error

LINE_LIMIT = 64 * 1024  # longer lines are read in pieces of this size


class Pop3Source:
    def __init__(self, settings: SourceSettings, timeout: float) -> None:
        self.settings = settings
        try:
            self._client = self._connect(settings, timeout)
        except TimeoutError:
            raise FetchError("timeout", f"{settings.host} did not answer in time") from None
        except ssl.SSLError as exc:
            raise describe_tls_error(exc, settings.host) from None
        except (OSError, poplib.error_proto) as exc:
            raise FetchError(
                "connect", f"cannot reach {settings.host}:{settings.port}: {exc}"
            ) from None
        self.tls, self.peer = checked_connection(self._client.sock, settings)

    @staticmethod
    def _connect(settings: SourceSettings, timeout: float) -> poplib.POP3:
        if settings.tls == "implicit":
            return poplib.POP3_SSL(
                settings.host, settings.port, timeout=timeout, context=client_context(settings)
            )
        client = poplib.POP3(settings.host, settings.port, timeout=timeout)
        if settings.tls == "starttls":
            try:
                client.stls(client_context(settings))
            except poplib.error_proto as exc:
                client.close()
                raise FetchError("tls", f"{settings.host} refused STLS: {_text(exc)}") from None
        return client

    def login(self, secret: dict[str, str]) -> None:
        try:
            self._client.user(self.settings.username)
            self._client.pass_(secret["password"])
        except poplib.error_proto as exc:
            raise FetchError(
                "auth", f"{self.settings.host} refused the login: {_text(exc)}"
            ) from None

    def listing(self) -> list[tuple[int, str, int]]:
        """(message number, UIDL, size) of every message in the maildrop."""
        sizes = {}
        for line in self._client.list()[1]:
            number, size = line.split()[:2]
            sizes[int(number)] = int(size)
        found = []
        for line in self._client.uidl()[1]:
            number, uidl = line.split()[:2]
            found.append((int(number), uidl.decode("ascii", "replace"), sizes.get(int(number), 0)))
        return found

    def retrieve(self, number: int, write: Callable[[bytes], None]) -> bool:
        """RETR `number`, each line (CRLF-terminated, dot-unstuffed) passed to `write`."""
        self._client._putcmd(f"RETR {number}")  # type: ignore[attr-defined]  # no streaming RETR
        self._client._getresp()  # type: ignore[attr-defined]
        file = self._client.file
        line_start = True
        while True:
            line = file.readline(LINE_LIMIT)
            if not line:
                raise FetchError("protocol", f"{self.settings.host} closed the connection in RETR")
            if line_start and line in (b".\r\n", b".\n"):
                return True
            if line_start and line.startswith(b"."):
                line = line[1:]
            line_start = line.endswith(b"\n")
            if line_start and not line.endswith(b"\r\n"):
                line = line[:-1] + b"\r\n"
            write(line)

    def delete(self, number: int) -> None:
        self._client.dele(number)

    def quit(self) -> None:
        """QUIT: the source now removes the messages marked with DELE."""
        self._client.quit()

    def close(self) -> None:
        try:
            self._client.close()
        except OSError:
            pass


def _text(exc: BaseException) -> str:
    raw = exc.args[0] if exc.args else b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return text[:200]
