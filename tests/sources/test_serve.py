"""`gateway serve` (its default worker processes, each with a scheduler) fetches the
active sources on its own, once each, and the mail comes out of the gateway's POP3
byte-identical to the source's, after the trace headers SMTP delivery adds too."""

from __future__ import annotations

import poplib
import time

from tests.serve.conftest import GatewayProcess, insecure_tls, no_leaked_gateways  # noqa: F401

from .conftest import add_source
from .test_fetch import crlf, message, split_trace


def _wait_for(predicate, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def _retrieve_all(port: int, login: str, passphrase: str) -> list[bytes]:
    client = poplib.POP3("127.0.0.1", port, timeout=30)
    try:
        client.stls(insecure_tls())
        client.user(login)
        client.pass_(passphrase)
        count = len(client.list()[1])
        return [b"\r\n".join(client.retr(n)[1]) + b"\r\n" for n in range(1, count + 1)]
    finally:
        client.quit()


def test_serve_fetches_each_source_once_and_pop3_gives_it_back(
    store, mailbox, dovecot, data_dir, ca_pem
):
    from .conftest import Account

    imap_account = Account(dovecot, *dovecot.claim_user())
    pop3_account = Account(dovecot, *dovecot.claim_user())
    imap_account.put(message(1, b"via imap\n"))
    imap_account.put(message(2, b"also via imap\n"))
    pop3_account.put(message(3, b"via pop3\n"))
    imap = add_source(
        store, mailbox, imap_account, "imap", "imaps", ca_file=str(ca_pem), keep=True, interval=10
    )
    pop3 = add_source(store, mailbox, pop3_account, "pop3", "pop3", ca_file=str(ca_pem))
    gateway = GatewayProcess(data_dir)
    gateway.wait_ready()
    try:
        _wait_for(lambda: len(store.messages.list(mailbox[0].id)) == 3)
        _wait_for(lambda: store.sources.get(imap.id).last_run is not None)
        first_imap_run = store.sources.get(imap.id).last_run
        # the keep-mode source runs again on its interval and imports nothing twice
        _wait_for(lambda: store.sources.get(imap.id).last_run != first_imap_run, timeout=30)
        assert len(store.messages.list(mailbox[0].id)) == 3
        assert pop3_account.remaining() == [] and len(imap_account.remaining()) == 2
        assert not store.sources.get(pop3.id).failing
        retrieved = _retrieve_all(gateway.ports["pop3"], mailbox[0].id, mailbox[1])
    finally:
        assert gateway.stop() == 0
    bodies = sorted(split_trace(raw)[1] for raw in retrieved)
    assert bodies == sorted(
        crlf(m)
        for m in (
            message(1, b"via imap\n"),
            message(2, b"also via imap\n"),
            message(3, b"via pop3\n"),
        )
    )


def test_serve_gives_the_api_its_fetcher_for_run_and_test(
    store, mailbox, account, data_dir, ca_pem
):
    """`gateway serve` wires WebOptions.source_runner: the API's run and test reach the
    real fetcher (an inactive source, so the scheduler leaves it alone)."""
    import json
    import urllib.request

    account.put(message(4))
    source = add_source(store, mailbox, account, "imap", "imaps", ca_file=str(ca_pem))
    store.sources.update(source.id, active=False)
    store.admins.create("ops", "superadmin", [], "ops-" + "p" * 20)
    _, raw = store.tokens.create("ops", "ci")
    gateway = GatewayProcess(data_dir)
    gateway.wait_ready()

    def post(path: str) -> dict:
        request = urllib.request.Request(
            f"https://127.0.0.1:{gateway.ports['web']}{path}",
            method="POST",
            headers={"Authorization": f"Bearer {raw}"},
        )
        with urllib.request.urlopen(request, context=insecure_tls(), timeout=30) as response:
            return json.loads(response.read())

    try:
        tested = post(f"/api/v1/sources/{source.id}/test")
        assert (tested["ok"], tested["messages"]) == (True, 1)
        ran = post(f"/api/v1/sources/{source.id}/run")
        assert (ran["fetched"], ran["failed"]) == (1, False)
    finally:
        assert gateway.stop() == 0
    assert len(store.messages.list(mailbox[0].id)) == 1 and account.remaining() == []
