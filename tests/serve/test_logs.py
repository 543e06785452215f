"""Logs of full sessions: JSON lines that parse, a connection id per session, no secrets."""

from __future__ import annotations

import imaplib
import json
import poplib

from .conftest import GatewayProcess, insecure_tls
from .test_serve import retrieve_all, send

CANARY = "CANARY-7f3a9c2e-log-check"
SUBJECT = "Quarterly numbers for the board"
SENDER = "ceo@sender.example"


def _message() -> bytes:
    return f"From: {SENDER}\r\nSubject: {SUBJECT}\r\n\r\n{CANARY}\r\n".encode()


def test_json_logs_of_full_sessions_parse_and_leak_nothing(gateway_data, mailbox_on_disk):
    gateway = GatewayProcess(gateway_data, extra_args=["--log-format", "json"])
    gateway.wait_ready()
    address, passphrase = mailbox_on_disk["address"], mailbox_on_disk["passphrase"]
    try:
        send(gateway.ports["smtp"], address, _message())
        assert len(retrieve_all(gateway.ports["pop3"], address, passphrase)) == 1
        wrong = poplib.POP3("127.0.0.1", gateway.ports["pop3"], timeout=30)
        wrong.stls(context=insecure_tls())
        wrong.user(address)
        try:
            wrong.pass_("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF")
        except poplib.error_proto:
            pass
        wrong.quit()
        imap = imaplib.IMAP4("127.0.0.1", gateway.ports["imap"], timeout=30)
        imap.starttls(ssl_context=insecure_tls())
        imap.login(address, passphrase)
        imap.select("INBOX")
        _typ, fetched = imap.fetch("1", "(BODY.PEEK[])")
        assert CANARY.encode() in fetched[0][1]
        imap.logout()
    finally:
        assert gateway.stop() == 0
    lines = [line for line in gateway.stderr if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    everything = "\n".join(gateway.stderr + gateway.stdout)
    normalized = passphrase.replace("-", "")
    for secret in (passphrase, normalized, CANARY, SUBJECT, SENDER, "AAAAA-BBBBB"):
        assert secret not in everything, secret
    transaction = [r for r in records if r["message"].startswith("smtp transaction")]
    assert len(transaction) == 1 and transaction[0]["conn"].startswith("smtp-")
    logins = [r for r in records if "login" in r["message"]]
    assert {r["conn"].split("-")[0] for r in logins} >= {"pop3", "imap"}
    failed = [r for r in logins if "login-failed" in r["message"]]
    assert len(failed) == 1 and failed[0]["conn"].startswith("pop3-")
    by_conn: dict[str, set[str]] = {}
    for record in records:
        if record.get("conn"):
            by_conn.setdefault(record["conn"], set()).add(record["logger"])
    assert len(by_conn) >= 3  # SMTP, the two POP3 sessions and IMAP each have their own id
