"""One ACME (RFC 8555) issuance with certbot's `acme` library: blocking, run in a thread.

The account key (EC P-256, a JWK kept sealed in the store, see manager.py) is made once
and reused; the account is registered again on each attempt (the CA answers with the
existing one), so a directory change needs nothing by hand. HTTP-01 answers go on a
`ChallengeBoard` (the store's pending challenges, which every node's responder reads)
and are withdrawn when the attempt ends.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import josepy as jose
import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from storage.acme_status import TOKEN_PATTERN, write_private_atomically

log = logging.getLogger("gateway.acme")
NETWORK_TIMEOUT = 30  # seconds per HTTP request to the CA
FINALIZE_DEADLINE = 120.0  # seconds for validation and issuance after the challenges
USER_AGENT = "journal-gateway"


class AcmeError(Exception):
    """An attempt failed; the message says why in words for the Connect page and logs."""


@dataclass(frozen=True)
class AcmeRequest:
    directory: str
    domains: tuple[str, ...]
    email: str
    ca_file: str  # PEM bundle for the CA's HTTPS; empty: the system's


class ChallengeBoard(Protocol):
    """Where HTTP-01 answers are pending while the CA checks them (blocking calls)."""

    def publish(self, token: str, key_authorization: str) -> None: ...

    def withdraw(self, token: str) -> None: ...


@dataclass(frozen=True)
class Issued:
    fullchain_pem: str
    key_pem: str


def issue(request: AcmeRequest, account_key: jose.JWK, board: ChallengeBoard) -> Issued:
    """Order, validate (HTTP-01) and download a certificate, or raise AcmeError."""
    try:
        return _issue(request, account_key, board)
    except AcmeError:
        raise
    except errors.ValidationError as exc:
        raise AcmeError(_validation_message(exc)) from None
    except errors.TimeoutError:
        raise AcmeError("the CA did not issue the certificate in time (order timed out)") from None
    except messages.Error as exc:
        raise AcmeError(f"the CA refused: {_problem(exc)}") from None
    except errors.ClientError as exc:
        raise AcmeError(f"ACME protocol error: {exc}") from None
    except requests.exceptions.SSLError:
        raise AcmeError(
            f"cannot verify the HTTPS certificate of {request.directory}"
            " (set tls.acme_ca_file for a private CA)"
        ) from None
    except requests.exceptions.RequestException as exc:
        raise AcmeError(f"cannot reach the ACME server: {type(exc).__name__}") from None
    except ValueError as exc:  # a directory or answer that is not JSON / not ACME
        raise AcmeError(f"unexpected answer from the ACME server: {exc}") from None


def _issue(request: AcmeRequest, account_key: jose.JWK, board: ChallengeBoard) -> Issued:
    net = client.ClientNetwork(
        account_key,
        alg=jose.ES256,
        user_agent=USER_AGENT,
        timeout=NETWORK_TIMEOUT,
    )
    if request.ca_file:
        # Handed to requests' `verify`, which takes a CA bundle path as well as a bool.
        net.verify_ssl = request.ca_file  # type: ignore[assignment]
    directory = client.ClientV2.get_directory(request.directory, net)
    acme = client.ClientV2(directory, net)
    _register(acme, net, request.email)
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    csr = crypto_util.make_csr(key_pem, list(request.domains))
    order = acme.new_order(csr)
    published: list[str] = []
    try:
        for authz in order.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue
            _answer_http01(acme, authz, account_key, board, published)
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=FINALIZE_DEADLINE)
        order = acme.poll_and_finalize(order, deadline=deadline)
    finally:
        for token in published:
            _withdraw_quietly(board, token)
    if not order.fullchain_pem:
        raise AcmeError("the CA finished the order without a certificate")
    return Issued(order.fullchain_pem, key_pem.decode())


def _register(acme: client.ClientV2, net: client.ClientNetwork, email: str) -> None:
    registration = messages.NewRegistration.from_data(
        email=email or None, terms_of_service_agreed=True
    )
    try:
        acme.new_account(registration)
    except errors.ConflictError as exc:  # this key has an account already: use it
        net.account = messages.RegistrationResource(body=messages.Registration(), uri=exc.location)


def _withdraw_quietly(board: ChallengeBoard, token: str) -> None:
    """Withdraw `token`; a failure only leaves it to expire (it answers nothing else)."""
    try:
        board.withdraw(token)
    except Exception:  # the attempt's own result matters more
        log.warning("ACME: could not withdraw a challenge token; it expires by itself")


def _answer_http01(
    acme: client.ClientV2,
    authz: messages.AuthorizationResource,
    key: jose.JWK,
    board: ChallengeBoard,
    published: list[str],
) -> None:
    name = authz.body.identifier.value
    offered = [c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01)]
    if not offered:
        raise AcmeError(f"the CA offers no HTTP-01 challenge for {name}")
    challenge = offered[0]
    response, validation = challenge.response_and_validation(key)
    token = challenge.chall.encode("token")
    if not TOKEN_PATTERN.match(token):
        raise AcmeError(f"the CA sent a malformed challenge token for {name}")
    board.publish(token, validation)
    published.append(token)
    acme.answer_challenge(challenge, response)


def new_account_key() -> str:
    """A fresh account key (EC P-256) as JWK JSON."""
    return jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1())).json_dumps()


def check_pair(issued: Issued, domains: tuple[str, ...]) -> None:
    """Refuse a chain that is not for this key or does not name every domain, before it
    can replace the working certificate (the key never touches a scratch file)."""
    try:
        leaf = x509.load_pem_x509_certificate(issued.fullchain_pem.encode())
        key = serialization.load_pem_private_key(issued.key_pem.encode(), password=None)
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound) as exc:
        raise AcmeError(f"the CA sent a certificate that cannot be used: {exc}") from None
    raw = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if leaf.public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
        raise AcmeError("the CA sent a certificate for another key")
    missing = set(domains) - set(san.get_values_for_type(x509.DNSName))
    if missing:
        raise AcmeError(f"the issued certificate lacks {', '.join(sorted(missing))}")


def _validation_message(exc: errors.ValidationError) -> str:
    reasons = []
    for authzr in exc.failed_authzrs:
        name = authzr.body.identifier.value
        failed = [c.error for c in authzr.body.challenges if c.error is not None]
        detail = "; ".join(_problem(error) for error in failed) or str(authzr.body.status)
        reasons.append(f"{name}: {detail}")
    return "challenge failed: " + " | ".join(reasons)


def _problem(error: messages.Error) -> str:
    kind = (error.typ or "").rsplit(":", 1)[-1]
    text = error.detail or error.description or "no detail"
    return f"{text} ({kind})" if kind else text


def save_live(issued: Issued, live: Path) -> None:
    """Replace the live PEM (chain, then key) in one rename."""
    write_private_atomically(live, (issued.fullchain_pem + issued.key_pem).encode())
