"""Network and protocol failures of a source session as FetchError, with a safe message."""

from __future__ import annotations

import imaplib
import poplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from .tls import FetchError, describe_tls_error


@contextmanager
def as_fetch_error(host: str) -> Iterator[None]:
    """Turn what poplib, imaplib and the socket raise into FetchError (cause
    timeout, tls, connect or protocol). Server replies may be quoted (they hold no
    credential); what the gateway sent never is."""
    try:
        yield
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError("timeout", f"{host} did not answer in time") from None
    except ssl.SSLError as exc:
        raise describe_tls_error(exc, host) from None
    except (ConnectionError, socket.gaierror, EOFError) as exc:
        raise FetchError("connect", f"the connection to {host} was lost ({exc})") from None
    except (imaplib.IMAP4.error, poplib.error_proto) as exc:
        raise FetchError("protocol", f"{host} answered with an error: {str(exc)[:200]}") from None
    except OSError as exc:
        raise FetchError(
            "connect", f"the connection to {host} failed ({exc.strerror or exc})"
        ) from None
