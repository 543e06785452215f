"""The RFC 3834 rules on their own: header parsing edge cases the SMTP tests do not
reach (folded and repeated fields, odd case, senders no plain reply can go to)."""

from __future__ import annotations

import pytest

from gateway.robots.rules import parse_header, suppression

OWN = {"example.test"}


def reason(sender: str, header: bytes) -> str | None:
    return suppression(sender, parse_header(header), OWN)


def test_an_ordinary_message_may_be_answered():
    assert reason("a@example.org", b"From: a@example.org\r\nSubject: hi\r\n\r\n") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"AUTO-SUBMITTED: Auto-Generated\r\n", "auto_submitted"),
        (b"Auto-Submitted: no\r\nAuto-Submitted: auto-replied\r\n", "auto_submitted"),
        (b"Auto-Submitted: no; comment\r\n", None),
        (b"Auto-Submitted:\r\n auto-notified\r\n", "auto_submitted"),  # folded
        (b"list-post: <mailto:l@example.org>\r\n", "list"),
        (b"Precedence:  BULK \r\n", "precedence"),
        (b"Precedence: first-class\r\n", None),
        (b"content-identifier: exjournalreport\r\n", "journal_report"),
        (b"X-Auto-Response-Suppress: DR, RN\r\n", None),
        (b"X-Auto-Response-Suppress: All\r\n", "auto_response_suppress"),
    ],
)
def test_header_rules(header, expected):
    assert reason("a@example.org", b"Subject: x\r\n" + header + b"\r\n") == expected


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("<>", "null_sender"),
        ("", "null_sender"),
        ("j\u00f6rg@example.org", "bad_sender"),  # SMTPUTF8: not answered
        ('"a b"@example.org', "bad_sender"),
        ("a@[192.0.2.1]", "bad_sender"),
        ("anyone@EXAMPLE.TEST", "own_address"),
        ("owner-news@example.org", "system_sender"),
        ("Postmaster@example.org", "system_sender"),
    ],
)
def test_sender_rules(sender, expected):
    assert reason(sender, b"Subject: x\r\n\r\n") == expected
