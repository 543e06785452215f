"""GatewaySMTP: aiosmtpd's SMTP protocol with streaming DATA, timeouts and admission.

aiosmtpd does the command loop, STARTTLS, require_starttls, PROXY protocol and
command size limits. This subclass adds: admission at connect (allowed networks,
connection caps), 421 replies on idle and transaction timeouts, a transaction
record per MAIL, and a DATA command that streams into the store (see ingest.py).
The aiosmtpd internals it needs are reached through aiosmtpd_seam.SeamSMTP only.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
from typing import Any

from aiosmtpd.smtp import SMTP, syntax

from ..logs import bind_connection
from ..proxy_protocol import PROXY_TIMEOUT
from ..robots.responder import Accepted
from . import replies
from .aiosmtpd_seam import SeamSMTP
from .hooks import MAIL_COMMAND_LIMIT, Hooks
from .ingest import MessageIngest
from .roles import SmtpListener
from .trace import Arrival
from .txlog import Transaction

# The StreamReader's limit: the longest command line it buffers, and half the
# amount of unread input at which it pauses the socket (so DATA blocks are large).
READER_LIMIT = 128 * 1024


class GatewaySMTP(SeamSMTP):
    def __init__(self, service: SmtpListener, *, implicit_tls: bool) -> None:
        options = service.options
        self.service = service
        self.implicit_tls = implicit_tls
        self.max_message_size: int = options.max_message_size
        self.client_ip = ""
        self.tx: Transaction | None = None
        self._tx_timer: asyncio.TimerHandle | None = None
        self._close_after_reply = False
        self._in_data = False
        self.line_length_limit = READER_LIMIT  # read by SMTP.__init__ for the reader (seam)
        super().__init__(
            Hooks(),
            data_size_limit=None,  # SIZE is advertised and enforced by the hooks
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=service.ctx.hostname,
            ident="ESMTP Journal Gateway",
            tls_context=None if implicit_tls else service.ctx.tls.context,
            require_starttls=options.require_tls,
            timeout=options.idle_timeout,
            proxy_protocol_timeout=PROXY_TIMEOUT if options.proxy_protocol else None,
            loop=asyncio.get_running_loop(),
        )
        # aiosmtpd keeps these limits in a dict shared by every instance; own one (seam).
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit, MAIL=MAIL_COMMAND_LIMIT, RCPT=MAIL_COMMAND_LIMIT
        )

    # --- connection lifecycle ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None  # not the STARTTLS re-entry
        super().connection_made(transport)
        if first:
            assert self.session is not None and self.client_task is not None
            # Read from the transport: aiosmtpd's Session.peer is the same tuple, typed str.
            self.client_ip = self.service.normalize_ip(transport.get_extra_info("peername")[0])
            self.service.register(self, self.client_task)

    def connection_lost(self, error: Exception | None) -> None:
        if not self._in_data:  # DATA finishes its own transaction
            self.end_transaction("disconnected")
        super().connection_lost(error)

    async def serve_client(self) -> None:
        bind_connection("smtp")
        if self.service.untrusted_proxy(self.client_ip):
            assert self.transport is not None
            self.transport.close()  # no greeting: it is not the balancer
            return
        if not self.service.options.proxy_protocol:  # else handle_PROXY admits the client
            refusal = self.service.admit(self, self.client_ip)
            if refusal:
                await self.push(refusal)
                assert self.transport is not None
                self.transport.close()
                return
        await super().serve_client()

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            status = replies.enhanced(status)
        await super().push(status)
        if self._close_after_reply and self.transport is not None:
            self.transport.close()

    def close_after_reply(self) -> None:
        self._close_after_reply = True

    def close_with(self, reply: str) -> None:
        """Send a last reply and close (timeouts, shutdown)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        assert isinstance(transport, asyncio.WriteTransport)  # aiosmtpd types it Base
        transport.write(reply.encode("ascii", "replace") + b"\r\n")
        transport.close()

    def abort_connection(self) -> None:
        if self.transport is not None:
            assert isinstance(self.transport, asyncio.WriteTransport)  # aiosmtpd types it Base
            self.transport.abort()

    def on_idle_timeout(self) -> None:
        self.close_with(replies.idle_timeout(self.hostname))

    # --- transactions --------------------------------------------------------------------
    def tls_info(self) -> tuple[str, str] | None:
        transport = self.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport else None
        if ssl_object is None:
            return None
        cipher = ssl_object.cipher()
        return ssl_object.version() or "TLS", cipher[0] if cipher else "unknown"

    def begin_transaction(self, sender: str, declared_size: int) -> None:
        tls = self.tls_info()
        self.tx = Transaction(self.client_ip, tls[0] if tls else "none", sender, declared_size)
        timeout = self.service.options.transaction_timeout
        self._tx_timer = self.loop.call_later(timeout, self._transaction_expired)

    def end_transaction(self, result: str) -> None:
        tx, self.tx = self.tx, None
        if self._tx_timer is not None:
            self._tx_timer.cancel()
            self._tx_timer = None
        if tx is not None:
            tx.finish(result, self.service.ctx.metrics, self.service.options.log_addresses)
            self.service.transaction_ended(self)

    def _transaction_expired(self) -> None:
        self.close_with(replies.transaction_timeout(self.hostname))

    def on_reset(self) -> None:  # RSET, HELO, EHLO, STARTTLS, connect
        self.end_transaction("reset")
        super().on_reset()

    def _arrival(self, tx: Transaction) -> Arrival:
        assert self.session is not None and self.envelope is not None
        tls = self.tls_info()
        if self.envelope.smtp_utf8:
            protocol = "UTF8SMTP"
        else:
            protocol = "ESMTP" if self.session.extended_smtp else "SMTP"
        return Arrival(
            sender=tx.sender,
            helo=self.session.host_name or "",
            client_ip=self.client_ip,
            hostname=self.hostname,
            protocol=protocol + ("S" if tls else ""),
            tls=tls,
            when=datetime.datetime.now(datetime.UTC),
        )

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos or self.tx is None:
            await self.push(replies.NEED_RECIPIENT)
            return
        if arg:
            await self.push(replies.DATA_SYNTAX)
            return
        tx = self.tx
        ingest = MessageIngest(self.service, self.command_reader, self.restart_idle_timer)
        self._in_data = True
        try:
            reply = await ingest.run(tx, self._arrival(tx), self.push)
        except BaseException as exc:
            gone = isinstance(exc, asyncio.CancelledError | ConnectionError)
            self.end_transaction("disconnected" if gone else "error")
            self.reset_envelope()
            raise
        finally:
            self._in_data = False
        try:
            await self.push(reply)
            if reply.startswith("250") and tx.answering:
                self.service.robots.schedule(accepted(tx))  # after the 250, from memory
        finally:
            self.end_transaction(" ".join(reply.split()[:2]))
            self.reset_envelope()

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        await super().smtp_STARTTLS(arg)
        if self.session is not None and self.session.ssl is None and self.tls_started:
            # The handshake never completed: the connection went away during it (closed
            # by the idle timeout, say). asyncio's SSL layer then tells neither this
            # protocol nor its reader, so end the session here: otherwise it would wait
            # for a command forever and keep its connection slot (smtp.max_connections).
            raise ConnectionResetError("connection lost during the TLS handshake")

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg: str) -> None:
        await self.push(replies.AUTH_UNSUPPORTED)


def accepted(tx: Transaction) -> Accepted:
    """What the robots may know of a stored message: envelope and header section."""
    recipients = tuple(
        (m, addresses[0])
        for m, addresses in tx.recipients.items()
        if addresses and m in tx.answering
    )
    return Accepted(tx.sender, tx.header, recipients)
