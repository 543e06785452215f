"""Free TCP ports on 127.0.0.1 for the servers the tests start themselves."""

from __future__ import annotations

import random
import socket
import time


def free_port() -> int:
    """A port the kernel just gave out; free unless another process takes it first."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_pair(offset: int, low: int = 20000, high: int = 50000) -> int:
    """A port P with P and P + offset both free (servers that derive a second port)."""
    for _ in range(200):
        port = random.randrange(low, high)
        if is_free(port) and is_free(port + offset):
            return port
    raise RuntimeError(f"no free port pair {offset} apart on 127.0.0.1")


def wait_listening(port: int, timeout: float, alive=lambda: True) -> bool:
    """Whether something accepts connections on 127.0.0.1:port within `timeout` seconds.

    `alive` is asked between tries, so a server that died stops the wait early.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            if not alive():
                return False
            time.sleep(0.05)
    return False
