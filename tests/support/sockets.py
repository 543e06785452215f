"""A blocking socket client for raw protocol tests (run it in a thread).

The protocol packages subclass it with how their replies are read
(tests/pop3/conftest.py, tests/imap/conftest.py); it connects, reads the greeting
with `line()`, sends bytes, switches to TLS and notices the server closing.
"""

from __future__ import annotations

import socket
import ssl

READ_TIMEOUT = 30.0  # seconds any read may wait
CLOSE_TIMEOUT = 10.0  # seconds closed_by_server waits for the server to close


class BlockingClient:
    def __init__(self, port: int, tls: ssl.SSLContext | None = None, source: str = "") -> None:
        self.sock: socket.socket = socket.create_connection(
            ("127.0.0.1", port),
            timeout=READ_TIMEOUT,
            source_address=(source, 0) if source else None,
        )
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.file = self.sock.makefile("rb")
        self.greeting = self.line()

    def line(self):  # str or bytes, as the protocol's subclass reads it
        raise NotImplementedError

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def wrap_tls(self, tls: ssl.SSLContext) -> None:
        """Go on over TLS on this connection (after the server agreed to STLS/STARTTLS)."""
        self.file.close()
        self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.file = self.sock.makefile("rb")

    def closed_by_server(self, within: float = CLOSE_TIMEOUT) -> bool:
        """Whether the server closes the connection in `within` seconds.

        Reads (and drops) what the server still sends, such as a last reply, until end
        of file or a reset: True. False when it is still open then; the client can go on.
        """
        self.sock.settimeout(within)
        try:
            while self.file.read1(65536):
                pass
        except TimeoutError:
            # A file object that timed out refuses further reads: give the client a new one.
            self.file.close()
            self.file = self.sock.makefile("rb")
            return False
        except (ConnectionResetError, ssl.SSLError):
            pass
        finally:
            self.sock.settimeout(READ_TIMEOUT)
        return True

    def close(self) -> None:
        self.file.close()
        self.sock.close()
