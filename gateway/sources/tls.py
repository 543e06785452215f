"""Client TLS for fetch sources: verification is always on.

Three ways to trust a server: the system's CA store (the default), a CA bundle file
(`ca_file`, e.g. a company CA), or a pinned SHA-256 fingerprint of the server's own
certificate (`fingerprint`, for a self-signed server). Pinning checks the exact
certificate after the handshake, in constant time, before any credential is sent.
`tls = "none"` (plain text) is only ever used when the source says `insecure`.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl

from storage.sources import SourceSettings


class FetchError(Exception):
    """A run failed; `cause` names the metric label (auth, connect, tls, protocol ...).

    The message is safe to show and store: never a credential, never message content.
    """

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def client_context(settings: SourceSettings) -> ssl.SSLContext:
    """The SSLContext for connecting to the source (TLS 1.2 at least)."""
    if settings.fingerprint:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the pin below is the check
    else:
        try:
            context = ssl.create_default_context(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise FetchError(
                "tls", f"cannot read the CA file {settings.ca_file}: {reason}"
            ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def check_pin(sock: ssl.SSLSocket, settings: SourceSettings) -> None:
    """Raise FetchError unless the peer certificate matches the pinned fingerprint."""
    if not settings.fingerprint:
        return
    der = sock.getpeercert(binary_form=True) or b""
    seen = hashlib.sha256(der).hexdigest()
    if not hmac.compare_digest(seen, settings.fingerprint):
        raise FetchError(
            "tls",
            f"the certificate of {settings.host} does not match the pinned fingerprint"
            f" (it is sha256 {seen})",
        )


def tls_summary(sock: object) -> tuple[str, str] | None:
    """(version, cipher) of a TLS socket, for the Received trace header; None in clear."""
    if not isinstance(sock, ssl.SSLSocket):
        return None
    cipher = sock.cipher()
    return (sock.version() or "TLS", cipher[0] if cipher else "unknown")


def checked_connection(
    sock: object, settings: SourceSettings
) -> tuple[tuple[str, str] | None, str]:
    """After connecting (and STARTTLS): the pin checked, then (TLS summary, peer address),
    the same for POP3 and IMAP."""
    check_pin(sock, settings)  # type: ignore[arg-type]
    peer = sock.getpeername()[0]  # type: ignore[attr-defined]
    return tls_summary(sock), peer


def describe_tls_error(exc: ssl.SSLError, host: str) -> FetchError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(
            "tls", f"the certificate of {host} is not trusted: {exc.verify_message or exc.reason}"
        )
    return FetchError("tls", f"TLS with {host} failed: {exc.reason or type(exc).__name__}")
