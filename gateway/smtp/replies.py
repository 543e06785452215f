"""Every reply the gateway composes itself, in one place (DESIGN §4-§5).

4xx means "keep the message queued and retry"; 5xx means "bounce it". Exchange
Online bounces a 5xx journal report into the undeliverable-reports mailbox, so a
5xx is only given when retrying cannot help.
"""

from __future__ import annotations

import re

SENDER_OK = "250 2.1.0 Sender OK"
RECIPIENT_OK = "250 2.1.5 Recipient OK"
START_DATA = "354 End data with <CR><LF>.<CR><LF>"

UNKNOWN_RECIPIENT = "550 5.1.1 No such mailbox here"
MAILBOX_ON_HOLD = "451 4.2.1 Mailbox is on hold, try again later"
MAILBOX_DISABLED = "550 5.2.1 Mailbox is disabled"
OVER_QUOTA = "452 4.2.2 Mailbox is over its quota, try again later"
DISK_LOW = "452 4.3.1 Insufficient system storage, try again later"
STORAGE_ERROR = "451 4.3.0 Storage error, try again later"
RELAY_DEFERRED = "451 4.4.0 A required relay copy could not be sent, try again later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
NEED_RECIPIENT = "503 5.5.1 Error: need RCPT command"
DATA_SYNTAX = "501 5.5.4 Syntax: DATA"
AUTH_UNSUPPORTED = "502 5.5.1 AUTH is not offered here"
TLS_FAILED = "454 4.7.0 TLS handshake failed"
INTERNAL_ERROR = "451 4.3.0 Internal error, try again later"


def access_denied(hostname: str) -> str:
    return f"554 5.7.1 {hostname} Access denied for your network"


def too_many_connections(hostname: str) -> str:
    return f"421 4.7.0 {hostname} Too many connections, try again later"


def shutting_down(hostname: str) -> str:
    return f"421 4.3.2 {hostname} Service shutting down, try again later"


def idle_timeout(hostname: str) -> str:
    return f"421 4.4.2 {hostname} Error: timeout exceeded"


def transaction_timeout(hostname: str) -> str:
    return f"421 4.4.2 {hostname} Error: transaction took too long"


def message_too_big(limit: int) -> str:
    return f"552 5.3.4 Message size exceeds fixed maximum message size ({limit} octets)"


def line_too_long(limit: int) -> str:
    return f"500 5.5.2 Message line too long (at most {limit} octets per line)"


def stored(message_ids: list[str]) -> str:
    ids = " ".join(message_ids)
    if len(ids) > 400:
        return f"250 2.0.0 OK: stored {len(message_ids)} copies"
    return f"250 2.0.0 OK: stored as {ids}"


# aiosmtpd's canned replies, given enhanced status codes (RFC 3463).
ENHANCED = {
    "530 Must issue a STARTTLS command first": "530 5.7.0 Must issue a STARTTLS command first",
    "250 OK": "250 2.0.0 OK",
    "221 Bye": "221 2.0.0 Bye",
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
    "454 TLS not available": "454 4.7.0 TLS not available",
    "503 Error: need MAIL command": "503 5.5.1 Error: need MAIL command",
    "503 Error: nested MAIL command": "503 5.5.1 Error: nested MAIL command",
    "503 Error: send HELO first": "503 5.5.1 Error: send HELO first",
    "503 Error: send EHLO first": "503 5.5.1 Error: send EHLO first",
}

# The enhanced code for an error reply that has none (aiosmtpd's own), by reply code.
_DEFAULT_ENHANCED = {
    "500": "5.5.2",  # syntax error, command unrecognised, command line too long
    "501": "5.5.4",  # syntax error in parameters
    "502": "5.5.1",
    "503": "5.5.1",
    "504": "5.5.4",
    "530": "5.7.0",
    "552": "5.3.4",
    "553": "5.1.3",
    "555": "5.5.4",
}
# Success replies that take 2.0.0: HELP and VRFY (the EHLO/HELO reply, 220 greeting and
# 334/354 intermediate replies take none, RFC 2034 §3).
_PLAIN_SUCCESS = ("250 Supported commands:", "250 Syntax:", "252 ")
_HAS_ENHANCED = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)")


def enhanced(status: str) -> str:
    """`status` with an RFC 3463 enhanced status code if it lacks one."""
    status = ENHANCED.get(status, status)
    if _HAS_ENHANCED.match(status) or len(status) < 4 or status[3] not in " -":
        return status
    code = status[:3]
    if code[0] in "45":
        extra = _DEFAULT_ENHANCED.get(code, f"{code[0]}.0.0")
    elif status.startswith(_PLAIN_SUCCESS):
        extra = "2.0.0"
    else:
        return status
    return f"{status[:4]}{extra} {status[4:]}"
