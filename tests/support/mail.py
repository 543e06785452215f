"""Test mail: sample messages, storing them as the SMTP ingest would, sending them."""

from __future__ import annotations

import hashlib
import smtplib
import ssl

from storage import MessageInfo

SENDER = "journal-sender@example.org"


def deliver(store, mailbox_id: str, raw: bytes) -> MessageInfo:
    """Store one message as the SMTP ingest would (raw must use CRLF line endings)."""
    delivery = store.messages.begin_delivery(mailbox_id)
    delivery.write(raw)
    return store.messages.commit_deliveries([delivery])[0]


def sample_message(
    number: int, body_lines: int = 3, *, sender_name: str = "", date: str = ""
) -> bytes:
    """A small distinct message; `sender_name` and `date` add a display name and a Date."""
    sender = f"sender{number}@example.org"
    lines = [
        f"From: {sender_name} <{sender}>" if sender_name else f"From: {sender}",
        "To: journal@example.test",
        f"Subject: message {number}",
        f"Message-ID: <m{number}@example.org>",
        *([f"Date: {date}"] if date else []),
        "",
        *(f"body line {i} of message {number}" for i in range(1, body_lines + 1)),
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def send_with_smtplib(
    port: int, to: str, messages: list[bytes], client_tls: ssl.SSLContext
) -> None:
    """Send each message from SENDER to `to` over SMTP with STARTTLS (blocking)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=client_tls)
        for raw in messages:
            client.sendmail(SENDER, [to], raw)


def rcpt_reply(port: int, address: str) -> str:
    """The SMTP server's answer to RCPT TO:<address>, e.g. "550 5.1.1 No such mailbox here"."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("client.example")
        client.mail(SENDER)
        code, text = client.rcpt(address)
    return f"{code} {text.decode('utf-8', 'replace')}"


def message_bytes(n: int, size: int = 300) -> bytes:
    """A distinct RFC 5322 message; size varies so some span several 64 KiB chunks."""
    body = hashlib.sha256(str(n).encode()).hexdigest().encode() * (size // 64 + 1)
    return (
        f"From: sender{n}@example.org\r\nTo: journal@example.test\r\n"
        f"Subject: message {n}\r\n\r\n".encode()
        + body[:size]
        + b"\r\n"
    )


def plaintext(store, key, message) -> bytes:
    """A stored message, decrypted with the mailbox key."""
    return b"".join(store.messages.read(key, message))
