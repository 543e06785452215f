"""What POP3 and IMAP share below their protocols: the connection (bounded line and
byte reads, flow-controlled writes, the TLS upgrade that drops pipelined cleartext).

Login, unlocking and throttling, also shared, live in gateway.login.
"""

from .connection import ConnectionClosed, LineConnection, LineTooLong

__all__ = ["ConnectionClosed", "LineConnection", "LineTooLong"]
