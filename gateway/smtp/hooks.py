"""aiosmtpd handler hooks: EHLO keywords, MAIL (SIZE), RCPT policy, PROXY, errors.

aiosmtpd calls each hook with the protocol instance (`server`, a GatewaySMTP, seen
through its SmtpConnection role) first, as it calls each `smtp_<VERB>` method of it.
"""

from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.smtp import MISSING, Envelope, Session, TLSSetupException

from . import replies
from .policy import decide_recipient
from .roles import SmtpConnection

log = logging.getLogger("gateway.smtp")

MAX_RECIPIENTS = 100  # RFC 5321 §4.5.3.1.8: at least 100 must be accepted
MAIL_COMMAND_LIMIT = 1024  # MAIL/RCPT lines with ESMTP parameters and UTF-8 addresses


class Hooks:
    async def handle_EHLO(
        self,
        server: SmtpConnection,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        # aiosmtpd grows the MAIL limit on every EHLO; keep it fixed.
        server.command_size_limits["MAIL"] = MAIL_COMMAND_LIMIT
        keywords = [r[4:] for r in responses[1:-1] if not r[4:].startswith("AUTH")]
        keywords = [f"SIZE {server.max_message_size}", *keywords, "PIPELINING", "HELP"]
        lines = [responses[0]] + [f"250-{k}" for k in keywords[:-1]]
        return [*lines, f"250 {keywords[-1]}"]

    async def handle_MAIL(
        self,
        server: SmtpConnection,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if server.service.stopping:
            server.close_after_reply()
            return replies.shutting_down(server.hostname)
        size = _declared_size(mail_options)
        if size > server.max_message_size:
            return replies.message_too_big(server.max_message_size)
        server.begin_transaction("" if address == "<>" else address, size)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return replies.SENDER_OK

    async def handle_RCPT(
        self,
        server: SmtpConnection,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        tx = server.tx
        assert tx is not None  # aiosmtpd answers 503 before MAIL
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return replies.TOO_MANY_RECIPIENTS
        store = server.service.ctx.store
        decision = await store.act(decide_recipient, address, tx.declared_size)
        if decision.mailbox is None:
            tx.reject(address, decision.reply)
            return decision.reply
        tx.add_recipient(decision.mailbox, address, relays=decision.relays)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return decision.reply

    async def handle_QUIT(
        self, server: SmtpConnection, session: Session, envelope: Envelope
    ) -> Any:
        server.end_transaction("quit")
        return MISSING

    async def handle_PROXY(
        self, server: SmtpConnection, session: Session, envelope: Envelope, proxy_data: Any
    ) -> bool:
        """The real client is behind the load balancer: admit it, not the balancer."""
        if proxy_data.src_addr is not None:
            server.client_ip = server.service.normalize_ip(str(proxy_data.src_addr))
        refusal = server.service.admit(server, server.client_ip)
        if refusal:
            await server.push(refusal)
            return False
        return True

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):  # a client problem, not ours
            cause = error.__cause__
            log.info("smtp: STARTTLS handshake failed (%s)", type(cause).__name__)
            return replies.TLS_FAILED
        log.error("smtp: internal error (%s)", type(error).__name__, exc_info=error)
        return replies.INTERNAL_ERROR


def _declared_size(mail_options: list[str]) -> int:
    """The SIZE= value (aiosmtpd has checked it is all digits); 0 when absent."""
    for option in mail_options:
        name, _, value = option.partition("=")
        if name == "SIZE" and value.isdigit():
            return int(value)
    return 0
