"""Fixtures shared by every test package: a real store on disk, TLS from trustme.

Helpers (not fixtures) shared by the packages are in tests/support/.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
import trustme
from hypothesis import settings as hypothesis_settings

from gateway.config import load_settings
from gateway.context import GatewayContext
from gateway.login import Authenticator, LoginPolicy
from gateway.smtp import start_smtp
from gateway.tls import TlsManager
from storage import open_store
from storage.async_store import AsyncStore
from storage.sealing import default_sealer
from tests.support.argon import FAST_KDF
from tests.support.postgres import PostgresServer
from tests.support.seaweed import S3Target, SeaweedS3

__all__ = ["FAST_KDF"]  # also importable from here, as it was before tests/support

# CI runs the property tests derandomized (same examples every run: a red CI is
# reproducible); locally they explore new examples each time.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path):
    """With the seal key the CLI uses by default (DATA/secrets/seal.key)."""
    s = open_store(data_dir, kdf=FAST_KDF, sealer=default_sealer(data_dir))
    yield s
    s.close()


@pytest.fixture
def domain(store) -> str:
    store.domains.add("example.test")
    return "example.test"


@pytest.fixture
def mailbox(store, domain):
    """(Mailbox, passphrase) in example.test."""
    return store.mailboxes.create(
        domain, name="Acme journal", aliases=["journal@example.test"], actor=None
    )


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_files(tls_ca: trustme.CA, tmp_path_factory) -> tuple[Path, Path]:
    """The gateway's certificate: localhost and 127.0.0.1, also as the subject
    CommonName, which fetchmail's sslcertck checks."""
    cert = tls_ca.issue_cert("localhost", "127.0.0.1", common_name="localhost")
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path


@pytest.fixture
def client_tls(tls_ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    tls_ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def ca_pem(tls_ca: trustme.CA, tmp_path: Path) -> Path:
    """The test CA as a PEM file, for clients configured by file (fetchmail, getmail...)."""
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def settings():
    """Defaults, every listener on an ephemeral loopback port."""
    return load_settings(
        environ={},
        overrides={
            "smtp.listen": "127.0.0.1:0",
            "pop3.listen": "127.0.0.1:0",
            "imap.listen": "127.0.0.1:0",
            "web.listen": "127.0.0.1:0",
            "storage.disk_reserve": 0,
        },
    )


@pytest.fixture
async def gateway_context(store, settings, tls_files, data_dir):
    astore = AsyncStore(store)
    policy = LoginPolicy(failures_before_delay=1000)  # no delays: tests fail logins freely
    ctx = GatewayContext(
        settings=settings,
        store=astore,
        tls=TlsManager(str(tls_files[0]), str(tls_files[1]), data_dir),
        authenticator=Authenticator(astore, policy),
        data_dir=data_dir,
        hostname="gateway.test",
    )
    yield ctx
    astore.close(close_store=False)


@pytest.fixture
async def smtp_port(gateway_context) -> int:
    """SMTP on the same context, for tests that send mail in and retrieve it again."""
    smtp = await start_smtp(gateway_context)
    yield smtp.addresses[0][1]
    await smtp.stop(0)


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL 15 for the whole run (tests/support/postgres.py)."""
    server = PostgresServer()
    try:
        server.setup()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer):
    """A fresh database per test, owned by the gateway's role; its DSN has no password."""
    if not postgres_server.running():  # a fault test before this one left it stopped
        postgres_server.start()
    dsn = postgres_server.create_database()
    yield dsn
    postgres_server.drop_database(dsn)


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory):
    """A real SeaweedFS S3 endpoint for the whole run (tests/support/seaweed.py)."""
    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_target(seaweed_s3: SeaweedS3) -> S3Target:
    """Endpoint, credentials and a bucket name no other test uses (not yet created)."""
    if not seaweed_s3.running():
        seaweed_s3.start()
    return seaweed_s3.new_target()
