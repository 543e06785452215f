"""`gateway serve` as a real process: listeners, first admin, SMTP in, POP3 out, signals."""

from __future__ import annotations

import poplib
import signal
import smtplib
import ssl
import time

from .conftest import GatewayProcess, free_port, insecure_tls


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


def test_implicit_tls_listeners_are_named_and_no_console_gets_no_empty_url(gateway_data):
    tls_ports = {name: free_port() for name in ("smtps", "pop3s", "imaps")}
    extra = [f"--{name}=127.0.0.1:{port}" for name, port in tls_ports.items()] + ["--web="]
    gateway = GatewayProcess(gateway_data, extra_args=extra)
    gateway.wait_ready(listeners=6)
    assert gateway.stop() == 0
    printed = "\n".join(gateway.stdout)
    for name in ("smtp", "pop3", "imap"):
        assert f"{name} listening on 127.0.0.1:{gateway.ports[name]}" in printed
    for name, port in tls_ports.items():
        assert f"{name} listening on 127.0.0.1:{port}" in printed
    assert "web console on" not in printed
    assert "created 'admin'" in printed
    assert "Sign in at  " not in printed and "Sign in at" not in printed
    assert "the web console is off (web.listen is empty)" in printed
    assert "gateway serve --web 127.0.0.1:8450" in printed


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


class CertificateFiles:
    """A trustme certificate written where the gateway's config points."""

    def __init__(self, ca, directory) -> None:
        self.ca = ca
        self.cert, self.key = directory / "cert.pem", directory / "key.pem"

    def issue(self, name: str) -> None:
        cert = self.ca.issue_cert(name, "127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(self.cert))
        cert.private_key_pem.write_to_path(str(self.key))

    def env(self, **extra: str) -> dict[str, str]:
        return {"GATEWAY_TLS__CERT": str(self.cert), "GATEWAY_TLS__KEY": str(self.key), **extra}

    def served_name(self, port: int) -> str:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        ctx.check_hostname = False
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.starttls(context=ctx)
            cert = client.sock.getpeercert()
        return str(cert.get("subjectAltName"))

    def wait_for(self, name: str, port: int, gateway: GatewayProcess) -> None:
        deadline = time.monotonic() + 15
        while name not in self.served_name(port):
            assert time.monotonic() < deadline, gateway.stderr[-5:]
            time.sleep(0.2)


def test_sighup_reloads_the_certificate(gateway_data, mailbox_on_disk, tls_ca, tmp_path):
    files = CertificateFiles(tls_ca, tmp_path)
    files.issue("first.example.test")
    gateway = GatewayProcess(gateway_data, env=files.env())
    gateway.wait_ready()
    try:
        assert "first.example.test" in files.served_name(gateway.ports["smtp"])
        files.issue("second.example.test")
        gateway.signal(signal.SIGHUP)
        files.wait_for("second.example.test", gateway.ports["smtp"], gateway)
    finally:
        assert gateway.stop() == 0


def test_changed_certificate_files_are_reloaded_while_a_client_is_connected(
    gateway_data, mailbox_on_disk, tls_ca, tmp_path
):
    files = CertificateFiles(tls_ca, tmp_path)
    files.issue("old.example.test")
    gateway = GatewayProcess(gateway_data, env=files.env(GATEWAY_TLS__RELOAD_INTERVAL="0.3"))
    gateway.wait_ready()
    try:
        ctx = ssl.create_default_context()
        tls_ca.configure_trust(ctx)
        ctx.check_hostname = False
        connected = smtplib.SMTP("127.0.0.1", gateway.ports["smtp"], timeout=30)
        connected.starttls(context=ctx)
        files.issue("new.example.test")  # certbot renewing: no signal
        files.wait_for("new.example.test", gateway.ports["smtp"], gateway)
        assert connected.noop()[0] == 250  # the session that began before goes on
        connected.sendmail("sender@example.org", [mailbox_on_disk["address"]], MESSAGE)
        connected.quit()
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
