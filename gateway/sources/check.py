""" "Test connection" of a fetch source: connect, verify TLS, sign in, list (POP3) or
open read-only (IMAP, EXAMINE) each folder, sign out. Nothing is fetched, deleted,
tracked or recorded on the source: a failed test leaves the source as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from storage import SealError
from storage.sources import Source

from .fetch import SEAL_PROBLEM, FetchOptions
from .imap import ImapSource
from .oauth import access_token
from .pop3 import Pop3Source
from .session_errors import as_fetch_error
from .tls import FetchError

log = logging.getLogger("gateway.sources")


@dataclass
class CheckOutcome:
    source_id: str
    messages: int = 0  # waiting at the source (all folders)
    folders: dict[str, int] = field(default_factory=dict)  # IMAP: messages per folder
    tls: str = ""  # the negotiated protocol and cipher, "" in clear
    error: str = ""
    cause: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.cause)

    def detail(self) -> str:
        """The audit detail: the count or the failure cause, no content."""
        return f"failed={self.cause}" if self.failed else f"ok messages={self.messages}"

    def document(self) -> dict[str, Any]:
        return {
            "id": self.source_id,
            "ok": not self.failed,
            "messages": self.messages,
            "folders": self.folders,
            "tls": self.tls,
            "error": self.error,
        }


def check_source(store: Any, options: FetchOptions, source: Source) -> CheckOutcome:
    """Try the source's connection and sign-in (call from a worker thread)."""
    outcome = CheckOutcome(source.id)
    try:
        secret = store.sources.secret(source.id)
        _check(source, secret, options, outcome)
    except FetchError as exc:
        outcome.error, outcome.cause = str(exc), exc.cause
    except SealError:
        outcome.error, outcome.cause = SEAL_PROBLEM, "credentials"
    except Exception as exc:  # no content and no credential in it
        log.error("testing source %s: unexpected %s", source.id, type(exc).__name__, exc_info=exc)
        outcome.error, outcome.cause = f"internal error ({type(exc).__name__})", "internal"
    log.info("tested fetch source %s: %s", source.id, outcome.detail())
    return outcome


def _check(
    source: Source, secret: dict[str, str], options: FetchOptions, outcome: CheckOutcome
) -> None:
    settings = source.settings
    token = access_token(settings, secret) if settings.auth != "password" else None
    with as_fetch_error(settings.host):
        if settings.protocol == "pop3":
            pop3 = Pop3Source(settings, options.timeout)
            try:
                outcome.tls = _tls(pop3.tls)
                pop3.login(secret)
                outcome.messages = len(pop3.listing())
                pop3.quit()  # nothing marked deleted: QUIT changes nothing
            finally:
                pop3.close()
            return
        imap = ImapSource(settings, options.timeout)
        try:
            outcome.tls = _tls(imap.tls)
            imap.login(secret, token)
            for folder in settings.folders:
                _, messages = imap.select(folder, readonly=True)
                outcome.folders[folder] = len(messages)
            outcome.messages = sum(outcome.folders.values())
            imap.quit()
        finally:
            imap.close()


def _tls(summary: tuple[str, str] | None) -> str:
    return " ".join(summary) if summary else ""
