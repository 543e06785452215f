"""Logging setup: human-readable text by default, JSON lines with log.format = json.

Log calls across the gateway pass ids, addresses (only when configured), sizes and
results: never a passphrase, password, session token or message content.
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import sys
import time

# The id of the connection whose task is logging; set once per connection task, so
# every line of a session carries it (`conn=` in text, "conn" in JSON).
CONNECTION_ID: contextvars.ContextVar[str] = contextvars.ContextVar("connection_id", default="")


def bind_connection(protocol: str) -> str:
    """Give the current task (one connection) a fresh id for its log lines."""
    conn_id = f"{protocol}-{secrets.token_hex(4)}"
    CONNECTION_ID.set(conn_id)
    return conn_id


class ConnectionFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "conn", ""):
            record.conn = CONNECTION_ID.get()
        return True


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and value != "":
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        conn = getattr(record, "conn", None)
        return f"{text} [conn={conn}]" if conn else text


class MalformedRequestFilter(logging.Filter):
    """aiohttp logs every malformed HTTP request (which it answers with 400) at ERROR with
    a traceback. Anyone can send one, so it becomes one INFO line naming only the error's
    class (its text may quote the request); errors in the console's handlers stay ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__module__ == "aiohttp.http_exceptions":
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = f"{record.msg}: malformed request ({type(exc).__name__})"
            record.exc_info = record.exc_text = None
        return True


def setup_logging(fmt: str = "text", level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ConnectionFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("mail.log", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequestFilter) for f in server.filters):
        server.addFilter(MalformedRequestFilter())
