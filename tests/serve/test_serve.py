"""`gateway serve` as a real process: listeners, first admin, SMTP in, POP3 out, signals."""

from __future__ import annotations

import poplib
import signal
import smtplib
import ssl
import time

from .conftest import GatewayProcess, insecure_tls


def send(port: int, to: str, body: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=insecure_tls())
        client.sendmail("sender@example.org", [to], body)


def retrieve_all(port: int, user: str, passphrase: str) -> list[bytes]:
    client = poplib.POP3("127.0.0.1", port, timeout=30)
    client.stls(context=insecure_tls())
    client.user(user)
    client.pass_(passphrase)
    count, _size = client.stat()
    messages = [b"\r\n".join(client.retr(i + 1)[1]) + b"\r\n" for i in range(count)]
    client.quit()
    return messages


def strip_trace(message: bytes) -> bytes:
    """The stored copy begins with the gateway's trace headers; the rest is the original."""
    marker = message.index(b"From: Alice")
    return message[marker:]


MESSAGE = b"From: Alice <alice@example.org>\r\nSubject: serve test\r\n\r\nHello.\r\n"


def test_prints_listeners_and_first_admin_once(gateway_data, mailbox_on_disk):
    first = GatewayProcess(gateway_data)
    first.wait_ready()
    assert first.stop() == 0
    printed = "\n".join(first.stdout)
    for name in ("smtp", "pop3", "imap"):
        assert f"{name} listening on 127.0.0.1:{first.ports[name]}" in printed
    assert f"web console on https://127.0.0.1:{first.ports['web']}/" in printed
    assert "created 'admin'" in printed
    second = GatewayProcess(gateway_data)
    second.wait_ready()
    assert second.stop() == 0
    assert "created 'admin'" not in "\n".join(second.stdout)


def test_smtp_in_pop3_out(running_gateway, mailbox_on_disk):
    send(running_gateway.ports["smtp"], mailbox_on_disk["address"], MESSAGE)
    (got,) = retrieve_all(
        running_gateway.ports["pop3"], mailbox_on_disk["address"], mailbox_on_disk["passphrase"]
    )
    assert strip_trace(got) == MESSAGE
    assert got.startswith(b"Return-Path: <sender@example.org>\r\n")


def test_self_signed_certificate_made_on_first_start(running_gateway, gateway_data):
    assert (gateway_data / "tls" / "cert.pem").exists()
    assert oct((gateway_data / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"


def test_sigterm_during_data_loses_nothing_partial(gateway_data, mailbox_on_disk):
    """SIGTERM mid-DATA: the transaction completes with 250 (and is stored whole), or the
    sender gets a 4xx/disconnect (and nothing is stored): never a partial message."""
    gateway = GatewayProcess(gateway_data)
    gateway.wait_ready()
    body = MESSAGE + (b"x" * 98 + b"\r\n") * 2000
    client = smtplib.SMTP("127.0.0.1", gateway.ports["smtp"], timeout=30)
    client.starttls(context=insecure_tls())
    client.ehlo()
    assert client.mail("sender@example.org")[0] == 250
    assert client.rcpt(mailbox_on_disk["address"])[0] == 250
    client.putcmd("data")
    assert client.getreply()[0] == 354
    client.send(body[:100_000])
    gateway.signal(signal.SIGTERM)
    time.sleep(0.5)
    try:
        client.send(body[100_000:] + b".\r\n")
        code, _ = client.getreply()
    except (smtplib.SMTPServerDisconnected, OSError):
        code = 421
    assert gateway.stop() == 0
    restarted = GatewayProcess(gateway_data)
    restarted.wait_ready()
    try:
        stored = retrieve_all(
            restarted.ports["pop3"], mailbox_on_disk["address"], mailbox_on_disk["passphrase"]
        )
    finally:
        restarted.stop()
    if code == 250:
        assert [strip_trace(m) for m in stored] == [body]
    else:
        assert 400 <= code < 500
        assert stored == []


def test_sighup_reloads_the_certificate(gateway_data, mailbox_on_disk, tls_ca, tmp_path):
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"

    def issue(name: str) -> None:
        cert = tls_ca.issue_cert(name, "127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
        cert.private_key_pem.write_to_path(str(key_path))

    def served_name(port: int) -> str:
        ctx = ssl.create_default_context()
        tls_ca.configure_trust(ctx)
        ctx.check_hostname = False
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.starttls(context=ctx)
            cert = client.sock.getpeercert()
        return dict(x[0] for x in cert["subject"]).get("commonName", "") or str(
            cert.get("subjectAltName")
        )

    issue("first.example.test")
    env = {"GATEWAY_TLS__CERT": str(cert_path), "GATEWAY_TLS__KEY": str(key_path)}
    gateway = GatewayProcess(gateway_data, env=env)
    gateway.wait_ready()
    try:
        assert "first.example.test" in served_name(gateway.ports["smtp"])
        issue("second.example.test")
        gateway.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "second.example.test" not in served_name(gateway.ports["smtp"]):
            assert time.monotonic() < deadline, gateway.stderr[-5:]
            time.sleep(0.2)
    finally:
        assert gateway.stop() == 0


def test_two_workers_serve_smtp_and_pop3(gateway_data, mailbox_on_disk):
    gateway = GatewayProcess(gateway_data, extra_args=["--workers", "2"])
    gateway.wait_ready(listeners=8)
    try:
        workers = {line.split(":")[0] for line in gateway.stdout if line.startswith("worker")}
        assert workers == {"worker 0", "worker 1"}
        bodies = [MESSAGE.replace(b"serve test", f"n{i}".encode()) for i in range(12)]
        for body in bodies:
            send(gateway.ports["smtp"], mailbox_on_disk["address"], body)
        got = retrieve_all(
            gateway.ports["pop3"], mailbox_on_disk["address"], mailbox_on_disk["passphrase"]
        )
    finally:
        assert gateway.stop() == 0
    assert sorted(strip_trace(m) for m in got) == sorted(bodies)
