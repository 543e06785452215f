"""DATA for one transaction: read blocks, decode, stream into each mailbox's copy.

Reply rules (DESIGN §3): 250 only after commit_deliveries returned for every copy;
any storage failure is 451 4.3.0; size and line-length limits are answered after
the end of DATA (RFC 5321 §4.2.5) with nothing stored. If the client disconnects
or the session is cancelled, every uncommitted copy is removed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable

from storage import QuotaExceeded
from storage.faults import fault_point

from . import replies
from .aiosmtpd_seam import unread
from .copies import CopySet, Target
from .data_stream import DataParser
from .journal import HeaderSniffer
from .relaying import RelaySet
from .roles import SmtpListener
from .trace import Arrival, trace_headers
from .txlog import Transaction

log = logging.getLogger("gateway.smtp")

BLOCK_SIZE = 256 * 1024


class MessageIngest:
    def __init__(
        self, service: SmtpListener, reader: asyncio.StreamReader, on_input: Callable[[], None]
    ) -> None:
        self._service = service
        self._reader = reader
        self._on_input = on_input

    async def run(
        self, tx: Transaction, arrival: Arrival, push: Callable[[str], Awaitable[None]]
    ) -> str:
        """Receive the message after DATA and return the final reply to send."""
        ctx = self._service.ctx
        copies = CopySet(ctx.store, _targets(tx, arrival))
        relays = await RelaySet.prepare(ctx, tx, arrival)
        try:
            if relays is not None:
                relays.start()
            await push(replies.START_DATA)
            parser = await self._receive(tx, copies, relays)
            return await self._conclude(tx, parser, copies, relays)
        finally:
            await copies.abort()  # no-op once committed
            if relays is not None:
                await relays.abort()  # drops what was not finished

    async def _receive(
        self, tx: Transaction, copies: CopySet, relays: RelaySet | None
    ) -> DataParser:
        options = self._service.options
        parser = DataParser(options.max_message_size, options.max_line_length)
        sniffer = HeaderSniffer()
        while not parser.done:
            block = await self._reader.read(BLOCK_SIZE)
            if not block:
                raise ConnectionResetError("client closed the connection during DATA")
            self._on_input()
            data = parser.feed(block)
            tx.size = parser.size
            if data:
                sniffer.feed(data)
                await copies.write(data)
                if relays is not None and not parser.rejected:
                    await relays.write(data)
                fault_point("smtp.data")
            if (parser.rejected or copies.failed) and not copies.aborted:
                await copies.abort()  # free the space now; keep reading to the end
                if relays is not None:
                    await relays.abort()
        if parser.leftover:
            unread(self._reader, parser.leftover)
        tx.journal = sniffer.close()
        tx.header = sniffer.header
        return parser

    async def _conclude(
        self, tx: Transaction, parser: DataParser, copies: CopySet, relays: RelaySet | None
    ) -> str:
        options = self._service.options
        if parser.too_big:
            return replies.message_too_big(options.max_message_size)
        if parser.line_too_long:
            return replies.line_too_long(options.max_line_length)
        self._on_input()  # the commit's fsyncs are not client idleness
        if relays is not None and not copies.failed:
            # Every target first: a required one that did not take it means 4xx, and
            # then no local copy is kept either (the retry brings the message again).
            outcome = await relays.finish(parser.size)
            self._on_input()
            if outcome.deferred:
                await copies.abort()
                return replies.RELAY_DEFERRED
        try:
            message_ids = await copies.commit()
        except QuotaExceeded:
            # RCPT found room, but deliveries committed meanwhile (on this node or another
            # one: the index checks the quota again at commit) filled the mailbox.
            log.info("smtp: a mailbox reached its quota before this message was committed")
            return replies.OVER_QUOTA
        except Exception as exc:  # never 250 unless every copy is durable
            log.error("smtp: storing a message failed (%s)", type(exc).__name__, exc_info=exc)
            return replies.STORAGE_ERROR
        tx.message_ids = message_ids
        return replies.stored(message_ids)


def _targets(tx: Transaction, arrival: Arrival) -> list[Target]:
    return [
        (
            mailbox_id,
            functools.partial(trace_headers, arrival, tx.recipients[mailbox_id], mailbox.address),
        )
        for mailbox_id, mailbox in tx.mailboxes.items()
    ]
