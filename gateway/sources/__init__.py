"""Fetch sources: pull mail from external POP3/IMAP mailboxes into encrypted mailboxes.

- fetch.py: one run of one source (the lossless order, tracking, skips, policy)
- pop3.py, imap.py: the source sessions (stdlib clients, streamed message bodies)
- tls.py: client TLS (system CA, CA file, pinned fingerprint), FetchError
- schedule.py: `serve`'s scheduler (intervals, back-off, leases, bounded concurrency)
"""

from .fetch import Fetcher, FetchOptions, FetchOutcome
from .tls import FetchError

__all__ = ["FetchError", "FetchOptions", "FetchOutcome", "Fetcher"]
