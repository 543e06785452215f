"""SMTP ingest: aiosmtpd-based listener that streams each message into the store.

`start_smtp(ctx)` returns a running `SmtpService` (see server.py). Module map:
session.py (the aiosmtpd SMTP subclass), hooks.py (EHLO/MAIL/RCPT/PROXY hooks),
roles.py (what session, hooks and ingest need of the service and the connection),
policy.py (RCPT decisions), ingest.py + copies.py + data_stream.py (streaming DATA),
trace.py (trace headers), journal.py (journal report detection), txlog.py (logs).
"""

from .server import SmtpService, start_smtp

__all__ = ["SmtpService", "start_smtp"]
