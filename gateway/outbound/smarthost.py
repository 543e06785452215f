"""The SMTP client for all outbound mail: relay copies and robot replies (README: Relay
copies and robots).

Every connection goes to the one configured smarthost (`relay.smarthost`), with the TLS
policy of `relay.tls`:

- ``required``: implicit TLS (port 465) or STARTTLS must be negotiated, else nothing is
  sent (the certificate is not checked);
- ``verify``: as required, and the certificate chain and host name are verified against
  the system CAs or `relay.ca_file`;
- ``opportunistic``: STARTTLS when the smarthost offers it, else clear text.

`send_message` sends one small message held in memory (robot replies). `open_transaction`
opens one MAIL/RCPT transaction whose DATA is then streamed block by block
(`SmarthostTransaction.write`), so a relayed copy never needs the whole message in
memory or on disk. aiosmtplib has no streaming DATA; the few protocol internals this
needs are used in `SmarthostTransaction` only.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosmtplib

IMPLICIT_TLS_PORT = 465


class RelayError(Exception):
    """An outbound attempt failed. `temporary` is True when a retry may succeed (4xx,
    timeouts, connection and TLS problems); False for a 5xx refusal. The message names
    the step and the smarthost's reply code, never message content or the password."""

    def __init__(self, message: str, *, temporary: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.code = code


class RelayDisabled(RelayError):
    """relay.smarthost is empty: outbound mail is switched off."""

    def __init__(self) -> None:
        super().__init__("outbound mail is disabled (relay.smarthost is empty)", temporary=True)


@dataclass(frozen=True)
class Smarthost:
    """The smarthost settings, read once (the password too) from `relay.*`."""

    host: str
    port: int
    tls: str
    ca_file: str
    user: str
    password: str
    timeout: float
    local_hostname: str

    def __repr__(self) -> str:  # never show the password
        return f"Smarthost({self.host}:{self.port}, tls={self.tls}, user={self.user!r})"

    @classmethod
    def from_settings(cls, settings: Any, local_hostname: str = "") -> Smarthost | None:
        """The smarthost of `settings`, or None when relay.smarthost is empty.

        Raises ValueError when the AUTH password cannot be read.
        """
        from gateway.config.validate import parse_hostport

        target = settings["relay.smarthost"]
        if not target:
            return None
        host, port = parse_hostport(target)
        return cls(
            host=host,
            port=port,
            tls=settings["relay.tls"],
            ca_file=settings["relay.ca_file"],
            user=settings["relay.auth_user"],
            password=auth_password(settings) if settings["relay.auth_user"] else "",
            timeout=float(settings["relay.timeout"]),
            local_hostname=local_hostname or settings["gateway.hostname"] or socket.getfqdn(),
        )


def auth_password(settings: Any, environ: Any = None) -> str:
    """The smarthost AUTH password from relay.auth_password_file or the environment
    variable named by relay.auth_password_env (never from the command line)."""
    environ = os.environ if environ is None else environ
    path, variable = settings["relay.auth_password_file"], settings["relay.auth_password_env"]
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"relay.auth_password_file: cannot read {path}") from exc
    if variable:
        value = environ.get(variable)
        if not value:
            raise ValueError(f"relay.auth_password_env: the variable {variable} is not set")
        return str(value)
    raise ValueError("relay.auth_user is set but no password source is")


def tls_context(smarthost: Smarthost) -> ssl.SSLContext:
    """`verify` checks chain and host name; `required`/`opportunistic` encrypt only."""
    if smarthost.tls == "verify":
        return ssl.create_default_context(cafile=smarthost.ca_file or None)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def connect(smarthost: Smarthost) -> aiosmtplib.SMTP:
    """A connected, greeted, TLS-upgraded (per policy) and authenticated session."""
    implicit = smarthost.port == IMPLICIT_TLS_PORT and smarthost.tls != "opportunistic"
    client = aiosmtplib.SMTP(
        hostname=smarthost.host,
        port=smarthost.port,
        local_hostname=smarthost.local_hostname,
        timeout=smarthost.timeout,
        use_tls=implicit,
        start_tls=False,
        tls_context=tls_context(smarthost),
    )
    try:
        await client.connect()
        await client.ehlo()
        if not implicit:
            await _upgrade(client, smarthost)
        if smarthost.user:
            await client.login(smarthost.user, smarthost.password)
    except BaseException as exc:
        client.close()
        if isinstance(exc, Exception) and not isinstance(exc, RelayError):
            raise _relay_error("connecting to the smarthost", exc) from None
        raise
    return client


async def _upgrade(client: aiosmtplib.SMTP, smarthost: Smarthost) -> None:
    if client.supports_extension("starttls"):
        await client.starttls(server_hostname=smarthost.host)
        await client.ehlo()
    elif smarthost.tls != "opportunistic":
        raise RelayError(
            f"the smarthost does not offer STARTTLS and relay.tls is {smarthost.tls}:"
            " nothing was sent",
            temporary=True,
        )


def _relay_error(step: str, exc: BaseException) -> RelayError:
    """A RelayError naming the step and the reply code (the reply text may quote
    addresses, so it is left out)."""
    if isinstance(exc, RelayError):
        return exc
    code = getattr(exc, "code", None)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        code = exc.recipients[0].code
    if isinstance(code, int) and code >= 100:
        return RelayError(f"{step}: the smarthost answered {code}", temporary=code < 500, code=code)
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return RelayError(f"{step}: the smarthost did not answer in time", temporary=True)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return RelayError(f"{step}: TLS failed ({type(exc).__name__})", temporary=True)
    return RelayError(f"{step}: {type(exc).__name__}", temporary=True)


async def send_message(
    settings: Any, sender: str, recipients: Sequence[str], message: bytes
) -> None:
    """Send one small message (e.g. a robot reply) through the smarthost.

    `message` is the whole message with CRLF line ends; `sender` "" is the null path.
    Raises RelayDisabled when relay.smarthost is empty, RelayError on any failure
    (a recipient refused included).
    """
    smarthost = Smarthost.from_settings(settings)
    if smarthost is None:
        raise RelayDisabled()
    transaction = await open_transaction(smarthost, sender, recipients)
    try:
        await transaction.write(message)
        await transaction.finish()
    finally:
        await transaction.close()


async def open_transaction(
    smarthost: Smarthost, sender: str, recipients: Sequence[str], size: int | None = None
) -> SmarthostTransaction:
    """Connect and send MAIL and RCPT; the transaction then takes DATA blocks.

    Every recipient must be accepted, else RelayError (and the connection is closed).
    """
    client = await connect(smarthost)
    transaction = SmarthostTransaction(client, smarthost.timeout)
    try:
        await transaction.begin(sender, recipients, size)
    except BaseException:
        await transaction.close()
        raise
    return transaction


class SmarthostTransaction:
    """One MAIL transaction whose DATA is streamed: begin, write..., finish, close.

    Blocks passed to `write` are the message as stored (dot-unstuffed, CRLF line ends);
    this class adds the dot-stuffing and the end-of-data line. Each block waits until
    the socket has taken it, so a slow smarthost slows the sender instead of filling
    memory; every wait is bounded by relay.timeout.
    """

    def __init__(self, client: aiosmtplib.SMTP, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self._in_data = False
        self._at_line_start = True
        self.finished = False

    async def begin(self, sender: str, recipients: Sequence[str], size: int | None) -> None:
        options = []
        if size is not None and self._client.supports_extension("size"):
            options.append(f"SIZE={size}")
        utf8 = not all(address.isascii() for address in (sender, *recipients))
        if utf8 and self._client.supports_extension("smtputf8"):
            options.append("SMTPUTF8")
        try:
            await self._client.mail(sender, options=options)
            for recipient in recipients:
                await self._client.rcpt(recipient)
        except Exception as exc:
            raise _relay_error("MAIL/RCPT", exc) from None

    async def write(self, block: bytes) -> None:
        """Stream one block of the message (DATA is sent before the first block)."""
        protocol = self._protocol()
        try:
            if not self._in_data:
                response = await self._client.execute_command(b"DATA")
                if response.code != 354:
                    raise RelayError(
                        f"DATA: the smarthost answered {response.code}",
                        temporary=response.code < 500,
                        code=response.code,
                    )
                self._in_data = True
            if not block:
                return
            protocol.write(self._stuffed(block))
            await asyncio.wait_for(protocol._drain_helper(), self._timeout)
        except RelayError:
            raise
        except Exception as exc:
            raise _relay_error("DATA", exc) from None

    async def finish(self) -> None:
        """End DATA and wait for the smarthost's reply; RelayError unless it is 250."""
        await self.write(b"")
        protocol = self._protocol()
        ending = b".\r\n" if self._at_line_start else b"\r\n.\r\n"
        try:
            protocol._response_pending = True  # the reply to the end of data
            protocol.write(ending)
            response = await protocol.read_response(timeout=self._timeout)
        except Exception as exc:
            raise _relay_error("end of DATA", exc) from None
        self._in_data = False
        if response.code != 250:
            raise RelayError(
                f"end of DATA: the smarthost answered {response.code}",
                temporary=response.code < 500,
                code=response.code,
            )
        self.finished = True

    async def close(self) -> None:
        """QUIT when the transaction ended cleanly, else drop the connection: a
        smarthost must never deliver a copy whose end of data was not sent."""
        if self.finished and self._client.is_connected:
            try:
                await asyncio.wait_for(self._client.quit(), self._timeout)
            except Exception:  # noqa: S110 (the message was accepted; QUIT is courtesy)
                pass
        self._client.close()

    def _protocol(self) -> Any:
        protocol = self._client.protocol
        if protocol is None or not self._client.is_connected:
            raise RelayError("the smarthost closed the connection", temporary=True)
        return protocol

    def _stuffed(self, block: bytes) -> bytes:
        """`block` with a dot doubled at every line start (RFC 5321 §4.5.2)."""
        stuffed = block.replace(b"\n.", b"\n..")
        if self._at_line_start and stuffed.startswith(b"."):
            stuffed = b"." + stuffed
        self._at_line_start = block.endswith(b"\n")
        return stuffed
