"""OAuth2 IMAP sources: msal (Office 365 client credentials) and google-auth (Gmail
refresh token) run for real against a local provider; Dovecot's oauth2 passdb checks
the XOAUTH2 token by introspection there."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.sources.oauth import forget_tokens
from storage.sources import checked_settings

from .test_fetch import crlf, message, split_trace, stored


@pytest.fixture(autouse=True)
def trust_the_provider(monkeypatch, ca_pem):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_pem))  # requests (msal, google-auth)
    forget_tokens()
    yield
    forget_tokens()


def _oauth_source(store, mailbox, account, ca_pem, auth: str, secret: dict):
    settings = checked_settings(
        protocol="imap",
        host="127.0.0.1",
        port=account.server.ports["imaps"],
        username=account.user,
        ca_file=str(ca_pem),
        auth=auth,
    )
    return store.sources.add(mailbox[0].id, auth, settings, secret)


def test_office365_client_credentials(store, mailbox, account, fetcher, ca_pem, oauth_provider):
    oauth_provider.apps[("tenant-a", "client-a", "app-secret-A1")] = account.user
    secret = {
        "tenant_id": "tenant-a",
        "client_id": "client-a",
        "client_secret": "app-secret-A1",
        "authority": f"{oauth_provider.base}/tenant-a/v2.0",
    }
    account.put(message(1))
    source = _oauth_source(store, mailbox, account, ca_pem, "office365", secret)
    outcome = fetcher.run(source)
    assert (outcome.error, outcome.fetched, outcome.deleted) == ("", 1, 1)
    assert [split_trace(g)[1] for g in stored(store, mailbox)] == [crlf(message(1))]
    assert "POST /tenant-a/oauth2/v2.0/token" in oauth_provider.requests
    asked = oauth_provider.requests.count("POST /tenant-a/oauth2/v2.0/token")
    account.put(message(2))
    assert fetcher.run(source).fetched == 1
    assert oauth_provider.requests.count("POST /tenant-a/oauth2/v2.0/token") == asked  # cached


def test_gmail_refresh_token(store, mailbox, account, fetcher, ca_pem, oauth_provider):
    oauth_provider.refresh[("gmail-client", "gmail-secret-G1", "refresh-G1")] = account.user
    secret = {
        "client_id": "gmail-client",
        "client_secret": "gmail-secret-G1",
        "refresh_token": "refresh-G1",
        "token_uri": f"{oauth_provider.base}/token",
    }
    account.put(message(1))
    source = _oauth_source(store, mailbox, account, ca_pem, "gmail", secret)
    outcome = fetcher.run(source)
    assert (outcome.error, outcome.fetched) == ("", 1)
    assert "POST /token" in oauth_provider.requests


def test_a_refused_token_request_fails_the_run_without_showing_the_secret(
    store, mailbox, account, fetcher, ca_pem, oauth_provider, caplog
):
    oauth_provider.apps[("tenant-b", "client-b", "right-secret")] = account.user
    secret = {
        "tenant_id": "tenant-b",
        "client_id": "client-b",
        "client_secret": "wrong-secret-W9",
        "authority": f"{oauth_provider.base}/tenant-b/v2.0",
    }
    account.put(message(1))
    source = _oauth_source(store, mailbox, account, ca_pem, "office365", secret)
    with caplog.at_level(logging.DEBUG):
        outcome = fetcher.run(source)
    assert outcome.cause == "auth" and "invalid_client" in outcome.error
    assert store.sources.get(source.id).failing
    assert "wrong-secret-W9" not in outcome.error + caplog.text
    assert len(account.remaining()) == 1


def test_a_token_for_another_user_is_refused_by_the_server(
    store, mailbox, account, fetcher, ca_pem, oauth_provider
):
    oauth_provider.refresh[("c", "s", "rt-other")] = "someone-else@source.test"
    secret = {"client_id": "c", "client_secret": "s", "refresh_token": "rt-other"}
    secret["token_uri"] = f"{oauth_provider.base}/token"
    source = _oauth_source(store, mailbox, account, ca_pem, "gmail", secret)
    outcome = fetcher.run(source)
    assert outcome.cause == "auth" and "refused the login" in outcome.error


def test_the_cli_takes_oauth_values_from_a_file(
    run, mailbox, account, tmp_path, ca_pem, oauth_provider
):
    oauth_provider.apps[("tenant-c", "client-c", "cli-secret-C1")] = account.user
    oauth_file = tmp_path / "o365.json"
    oauth_file.write_text(
        json.dumps(
            {
                "tenant_id": "tenant-c",
                "client_id": "client-c",
                "client_secret": "cli-secret-C1",
                "authority": f"{oauth_provider.base}/tenant-c/v2.0",
            }
        )
    )
    account.put(message(1))
    args = [
        "source", "add", mailbox[0].id, "--name", "o365", "--protocol", "imap",
        "--host", "127.0.0.1", "--port", str(account.server.ports["imaps"]), "--ca-file",
        str(ca_pem), "--user", account.user, "--oauth2", "office365", "--oauth-file",
        str(oauth_file), "--json",
    ]  # fmt: skip
    added = run(*args)
    assert added.exit_code == 0, added.stderr
    document = json.loads(added.stdout)
    assert document["auth"] == "office365" and "cli-secret-C1" not in added.stdout
    counts = run("source", "run", document["id"], "--json")
    assert json.loads(counts.stdout)["fetched"] == 1, counts.stderr
