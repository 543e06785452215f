"""IMAP4rev1 retrieval (RFC 3501 subset for archivers): one read-only folder, INBOX.

`start_imap(ctx)` starts the IMAP (STARTTLS) and IMAPS listeners configured in
`imap.listen` and `imap.imaps_listen` and returns the running ImapService.
"""

from .server import ImapService, start_imap

__all__ = ["ImapService", "start_imap"]
