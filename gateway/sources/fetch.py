"""One run of one fetch source: connect, sign in, import what is new, delete if asked.

The order that makes it lossless (issue 16):
1. a message is streamed into a Delivery (encrypted to the mailbox's current epoch,
   with the trace headers SMTP adds), then committed together with its tracking row
   (store.sources.commit_fetched: durable file, index row, key, one transaction);
2. only then is it deleted at the source (POP3 DELE, applied at QUIT; IMAP \\Deleted,
   expunged at the end of the folder).
A crash between 1 and 2 leaves the message at the source, and its key tracked: the
next run deletes it (delete mode) or passes over it (keep mode), never imports it
twice. A message over the size limit or malformed is skipped and recorded; the rest
of the source keeps flowing. The mailbox policy applies as for SMTP: a mailbox on hold
or disabled is not fetched into, and over quota or low on disk a run stops early with
everything not yet stored left at the source.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from storage import QuotaExceeded, SealError, StorageFull
from storage.faults import fault_point
from storage.sources import POP3_FOLDER, FetchedKey, Source

from .imap import ImapSource
from .oauth import access_token, forget_tokens
from .pop3 import Pop3Source
from .session_errors import as_fetch_error
from .sink import MessageSink
from .tls import FetchError
from .trace import fetched_trace_headers

log = logging.getLogger("gateway.sources")
LEASE_TTL = 60.0
SEAL_PROBLEM = (
    "the source's credentials do not open with this gateway's seal key (another key, or"
    " none configured): put the original key back (secrets.seal_key, secrets.seal_key_file"
    " or DATA/secrets/seal.key), or set them again (gateway source update ID"
    " --password-file F)"
)


@dataclass(frozen=True)
class FetchOptions:
    hostname: str
    max_message_size: int = 200 << 20
    timeout: float = 60.0
    lease_ttl: float = LEASE_TTL


@dataclass
class FetchOutcome:
    source_id: str
    fetched: int = 0
    skipped: int = 0
    deleted: int = 0
    bytes: int = 0
    error: str = ""
    cause: str = ""  # metric label of a failure ("" when the run succeeded)
    busy: bool = False  # another worker or node holds the source's lease
    skips: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.cause)

    def detail(self) -> str:
        """The audit detail: counts and the failure cause, no content."""
        text = f"fetched={self.fetched} skipped={self.skipped} deleted={self.deleted}"
        if self.busy:
            return text + " busy"
        return text + (f" failed={self.cause}" if self.cause else "")

    def document(self) -> dict[str, Any]:
        return {
            "id": self.source_id,
            "fetched": self.fetched,
            "skipped": self.skipped,
            "deleted": self.deleted,
            "bytes": self.bytes,
            "error": self.error,
            "failed": self.failed,
            "busy": self.busy,
        }


class _Stop(Exception):
    """Stop the run, keeping what was stored (quota, low disk, mailbox no longer open)."""


class Fetcher:
    """Runs sources against the synchronous store (call from a worker thread)."""

    def __init__(
        self,
        store: Any,
        options: FetchOptions,
        metrics: Any = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.options = options
        self.metrics = metrics
        self.stopping = stopping or threading.Event()  # set: finish the message, then stop
        self.owner = f"fetch-{uuid.uuid4().hex[:12]}"

    def run(self, source: Source) -> FetchOutcome:
        outcome = FetchOutcome(source.id)
        lease = f"fetch:{source.id}"
        if not self.store.leases.acquire(lease, self.owner, self.options.lease_ttl):
            outcome.busy = True
            return outcome
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(lease, stop), daemon=True)
        renewer.start()
        try:
            self._run(source, outcome)
        finally:
            stop.set()
            renewer.join()
            self.store.leases.release(lease, self.owner)
        return outcome

    def _renew(self, lease: str, stop: threading.Event) -> None:
        while not stop.wait(self.options.lease_ttl / 3):
            if not self.store.leases.renew(lease, self.owner, self.options.lease_ttl):
                log.warning("fetch source lease %s was lost", lease)
                return

    def _run(self, source: Source, outcome: FetchOutcome) -> None:
        started = time.time()
        try:
            self._fetch(source, outcome)
        except FetchError as exc:
            outcome.error, outcome.cause = str(exc), exc.cause
        except _Stop as exc:
            outcome.error = str(exc)
        except SealError:
            outcome.error, outcome.cause = SEAL_PROBLEM, "credentials"
        except Exception as exc:  # a run never takes the scheduler down; no content in it
            log.error("fetch source %s: unexpected %s", source.id, type(exc).__name__, exc_info=exc)
            outcome.error, outcome.cause = f"internal error ({type(exc).__name__})", "internal"
        if outcome.skips:
            outcome.error = "; ".join(
                [outcome.error, *outcome.skips] if outcome.error else outcome.skips
            )
        self.store.sources.record_run(
            source.id,
            at=started,
            count=outcome.fetched,
            error=outcome.error[:1000],
            failed=outcome.failed,
        )
        self._count(source, outcome)
        log.info(
            "fetch source %s (mailbox %s): %s%s",
            source.id,
            source.mailbox_id,
            outcome.detail(),
            f" ({outcome.error})" if outcome.failed else "",
        )

    def _count(self, source: Source, outcome: FetchOutcome) -> None:
        if self.metrics is None:
            return
        self.metrics.source_messages.labels(result="fetched").inc(outcome.fetched)
        self.metrics.source_messages.labels(result="skipped").inc(outcome.skipped)
        self.metrics.source_bytes.inc(outcome.bytes)
        if outcome.failed:
            self.metrics.source_failures.labels(cause=outcome.cause).inc()

    # --- one run -----------------------------------------------------------------------
    def _fetch(self, source: Source, outcome: FetchOutcome) -> None:
        mailbox = self.store.mailboxes.get(source.mailbox_id)
        if not mailbox.accepts_mail():
            raise _Stop(f"mailbox is {mailbox.status}: nothing fetched, mail stays at the source")
        secret = self.store.sources.secret(source.id)
        settings = source.settings
        token = access_token(settings, secret) if settings.auth != "password" else None
        session: Pop3Source | ImapSource
        if settings.protocol == "pop3":
            session = Pop3Source(settings, self.options.timeout)
        else:
            session = ImapSource(settings, self.options.timeout)
        try:
            with as_fetch_error(settings.host):
                try:
                    if isinstance(session, Pop3Source):
                        session.login(secret)
                        self._pop3(source, session, mailbox, outcome)
                    else:
                        self._imap_login(session, secret, token)
                        for folder in settings.folders:
                            self._imap_folder(source, session, mailbox, folder, outcome)
                except _Stop:
                    session.quit()  # what was stored is deleted at the source all the same
                    raise
                session.quit()
        finally:
            session.close()

    @staticmethod
    def _imap_login(session: ImapSource, secret: dict[str, str], token: str | None) -> None:
        try:
            session.login(secret, token)
        except FetchError:
            if token is not None:
                forget_tokens()  # perhaps revoked: ask the provider again next time
            raise

    def _pop3(
        self, source: Source, session: Pop3Source, mailbox: Any, outcome: FetchOutcome
    ) -> None:
        listing = session.listing()
        self.store.sources.forget_missing(source.id, POP3_FOLDER, [u for _, u, _ in listing])
        _, known = self.store.sources.folder_state(source.id, POP3_FOLDER)
        skipped = {s.key for s in self.store.sources.skipped(source.id) if s.folder == POP3_FOLDER}
        for number, uidl, size in listing:
            where = FetchedKey(POP3_FOLDER, 0, uidl)
            if uidl in known:
                if not source.settings.keep and uidl not in skipped:
                    session.delete(number)  # stored by an earlier run that died before QUIT
                    outcome.deleted += 1
                continue
            stored = self._import(source, mailbox, where, size, outcome, session, number)
            if stored and not source.settings.keep:
                session.delete(number)
                outcome.deleted += 1

    def _imap_folder(
        self, source: Source, session: ImapSource, mailbox: Any, folder: str, outcome: FetchOutcome
    ) -> None:
        validity, messages = session.select(folder)
        recorded, _ = self.store.sources.folder_state(source.id, folder)
        if recorded is None or recorded != validity:
            forgotten = self.store.sources.reset_folder(source.id, folder, validity)
            if recorded is not None:
                log.warning(
                    "fetch source %s: UIDVALIDITY of folder %r changed from %d to %d;"
                    " %d tracked messages forgotten, the folder is fetched again",
                    source.id,
                    folder,
                    recorded,
                    validity,
                    forgotten,
                )
                outcome.skips.append(f"UIDVALIDITY of {folder} changed: fetched again")
        self.store.sources.forget_missing(source.id, folder, [str(u) for u, _ in messages])
        _, known = self.store.sources.folder_state(source.id, folder)
        skipped = {s.key for s in self.store.sources.skipped(source.id) if s.folder == folder}
        to_expunge: list[int] = []
        try:
            for uid, size in messages:
                where = FetchedKey(folder, validity, str(uid))
                if where.key in known:
                    if not source.settings.keep and where.key not in skipped:
                        session.delete(uid)
                        to_expunge.append(uid)
                    continue
                if self._import(source, mailbox, where, size, outcome, session, uid):
                    if not source.settings.keep:
                        session.delete(uid)
                        to_expunge.append(uid)
        finally:
            session.expunge(to_expunge)
            outcome.deleted += len(to_expunge)

    def _import(
        self,
        source: Source,
        mailbox: Any,
        where: FetchedKey,
        size: int,
        outcome: FetchOutcome,
        session: Pop3Source | ImapSource,
        number: int,
    ) -> bool:
        """Store one message; True once it is committed (and may be deleted at the source)."""
        if self.stopping.is_set():
            raise _Stop("the gateway is shutting down: the rest waits for the next run")
        limit = self.options.max_message_size
        if size > limit:
            self._skip(source, where, f"over the size limit of {limit} bytes", size, outcome)
            return False
        try:
            self.store.messages.check_can_receive(mailbox.id, size)
        except QuotaExceeded:
            raise _Stop("mailbox is over its quota: the rest stays at the source") from None
        except StorageFull:
            raise _Stop("disk space is low: the rest stays at the source") from None
        delivery = self.store.messages.begin_delivery(mailbox.id)
        try:
            delivery.write(
                fetched_trace_headers(
                    source, session, mailbox.address, delivery.message_id, self.options.hostname
                )
            )
            sink = MessageSink(delivery, limit)
            present = session.retrieve(number, sink.write)
            sink.finish()
        except BaseException:
            delivery.abort()
            raise
        if not present:  # gone from the source meanwhile (another client expunged it)
            delivery.abort()
            return False
        if sink.problem:
            self._skip(source, where, sink.problem, sink.size, outcome)
            return False
        self.store.sources.commit_fetched(source.id, where, delivery)
        fault_point("source.committed")
        outcome.fetched += 1
        outcome.bytes += sink.size
        return True

    def _skip(
        self, source: Source, where: FetchedKey, reason: str, size: int, outcome: FetchOutcome
    ) -> None:
        self.store.sources.skip(source.id, where, reason, size)
        outcome.skipped += 1
        label = f"{where.folder}/{where.key}" if where.folder else where.key
        outcome.skips.append(f"skipped {label}: {reason}")
        log.warning("fetch source %s: skipped message %s: %s", source.id, label, reason)
