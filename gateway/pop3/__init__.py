"""POP3 retrieval (RFC 1939 + CAPA, STLS, AUTH PLAIN) for archive software.

`start_pop3(ctx)` starts STLS and POP3S listeners and returns the running service.
"""

from .server import Pop3Service, start_pop3

__all__ = ["Pop3Service", "start_pop3"]
