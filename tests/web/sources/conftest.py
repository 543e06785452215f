"""Fixtures of the console's and the API's fetch-source tests: the web app with the
gateway's real fetcher (as `gateway serve` wires it), and a real Dovecot account."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.sources import FetchOptions
from gateway.sources.web_runner import source_runner
from tests.sources.conftest import Account, account, dovecot, oauth_provider  # noqa: F401
from web import create_app

SECRET = "Src-Pass-9Kq!x"  # never in a page or a response body
WRONG = "Wrong-Pass-77z!"


@pytest.fixture
def app(env):
    runner = source_runner(FetchOptions(hostname="gateway.test", timeout=10))
    return create_app(env.astore, replace(env.options, source_runner=runner))


@pytest.fixture
def mailbox(env, domains):
    mailbox, _ = env.store.mailboxes.create("alpha.test", name="Acme", actor=None)
    return mailbox


def message(n: int) -> bytes:
    return (
        f"From: s{n}@example.org\nSubject: fetched {n}\nMessage-ID: <w{n}@x>\n\nbody {n}\n".encode()
    )


def imap_fields(on: Account, ca_pem, **changes) -> dict[str, str]:
    """The console's add form for an IMAPS source on the account `on`."""
    return {
        "name": "info",
        "protocol": "imap",
        "host": "127.0.0.1",
        "port": str(on.server.ports["imaps"]),
        "tls": "implicit",
        "ca_file": str(ca_pem),
        "fingerprint": "",
        "username": on.user,
        "auth": "password",
        "cred_password": on.password,
        "folders": "INBOX",
        "interval": "300",
        "comment": "",
        "active": "on",
    } | changes
