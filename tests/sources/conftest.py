"""Fetch-source fixtures: one private Dovecot per test session (tests/support/dovecot.py),
a fresh account on it per test, and a fetcher on the root fixtures' store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.sources import Fetcher, FetchOptions
from storage.sources import Source, checked_settings
from tests.cli.conftest import cli_env, run  # noqa: F401 (fixtures, registered by being imported)
from tests.support.dovecot import SourceDovecot, maildir_messages, put_message
from tests.support.oauth_provider import start_provider

MAX_SIZE = 256 * 1024  # the fetch size limit in these tests


@pytest.fixture(scope="session")
def oauth_provider(tls_ca, tmp_path_factory):
    """The local OAuth2 provider (tests/support/oauth_provider.py)."""
    cert = tls_ca.issue_cert("127.0.0.1")
    provider, servers = start_provider(
        cert.private_key_and_cert_chain_pem.bytes(),
        cert.private_key_pem.bytes(),
        tmp_path_factory.mktemp("oauth"),
    )
    yield provider
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def dovecot(tls_ca, oauth_provider):
    cert = tls_ca.issue_cert("localhost", "127.0.0.1", common_name="localhost")
    server = SourceDovecot.start(
        cert.private_key_and_cert_chain_pem.bytes(),
        cert.private_key_pem.bytes(),
        introspection_url=oauth_provider.introspection_url,
    )
    yield server
    server.stop()


@dataclass
class Account:
    server: SourceDovecot
    user: str
    password: str
    maildir: Path

    def put(self, raw: bytes) -> Path:
        return put_message(self.maildir, raw)

    def remaining(self) -> list[bytes]:
        return maildir_messages(self.maildir)


@pytest.fixture
def account(dovecot) -> Account:
    return Account(dovecot, *dovecot.claim_user())


@pytest.fixture
def fetcher(store) -> Fetcher:
    return Fetcher(
        store, FetchOptions(hostname="gateway.test", max_message_size=MAX_SIZE, timeout=10)
    )


def add_source(
    store, mailbox, account: Account, protocol: str, port_name: str, **changes
) -> Source:
    """A source of the root `mailbox` on `account` (port by name: pop3, pop3s, imap, imaps)."""
    tls = "implicit" if port_name.endswith("s") else "starttls"
    values = {
        "protocol": protocol,
        "host": "127.0.0.1",
        "port": account.server.ports[port_name],
        "username": account.user,
        "tls": tls,
    } | changes
    password = values.pop("password", account.password)
    name = values.pop("name", f"{protocol}-{port_name}")
    return store.sources.add(
        mailbox[0].id, name, checked_settings(**values), {"password": password}
    )
