"""Every reply the SMTP service gives carries an RFC 3463 enhanced status code.

The exceptions are the ones RFC 2034 §3 makes: the 220 greeting, the EHLO/HELO reply,
and the 334/354 intermediate replies. The test walks a session through every error
a client can provoke, with a raw client that sends what real clients refuse to.
"""

from __future__ import annotations

import re

from .helpers import RawClient

ENHANCED = re.compile(r"^[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}( |$)")

# (command, reply code) in order on one connection; aiosmtpd answers most of these.
COMMANDS = [
    ("MAIL FROM:<a@example.org>", 503),  # before EHLO
    ("HELO", 501),
    ("EHLO", 501),
    ("EHLO client.example", 250),
    ("NOOP " + "x" * 600, 500),  # command line too long
    (b"\xff\xfe", 500),  # not UTF-8
    ("FROB", 500),
    ("RCPT TO:<b@example.test>", 503),  # before MAIL
    ("DATA", 503),
    ("MAIL TO:<a@example.org>", 501),
    ("MAIL FROM:<a@@example.org>", 553),
    ("MAIL FROM:<a@example.org> SMTPUTF8=yes", 501),
    ("MAIL FROM:<a@example.org> FROB=1", 555),
    ("MAIL FROM:<a@example.org> SIZE=999999999999", 552),
    ("MAIL FROM:<a@example.org>", 250),
    ("MAIL FROM:<a@example.org>", 503),  # nested
    ("RCPT FROM:<b@example.test>", 501),
    ("RCPT TO:<nobody@example.test>", 550),
    ("DATA", 503),  # no recipient yet
    ("RSET x", 501),
    ("RSET", 250),
    ("NOOP", 250),
    ("VRFY", 501),
    ("VRFY someone@example.test", 252),
    ("EXPN list", 502),
    ("HELP", 250),
    ("HELP MAIL", 250),
    ("AUTH PLAIN AGFhAGI=", 502),
    ("STARTTLS now", 501),
    ("QUIT now", 501),
    ("QUIT", 221),
]


async def test_every_reply_has_an_enhanced_status_code(smtp):
    client, (code, greeting) = await RawClient.connect(smtp.address())
    assert code == 220
    got = []
    for command, expected in COMMANDS:
        code, text = await client.command(command)
        got.append((command, code, text))
        assert code == expected, (command, text)
    await client.close()
    for command, code, text in got:
        if str(command).startswith("EHLO") and code == 250:
            continue  # RFC 2034: the EHLO reply carries keywords, not status codes
        for line in text.splitlines():
            assert ENHANCED.match(line), (command, line)
    too_long = got[4][2]
    assert too_long.startswith("500 5.5.2 ") and "too long" in too_long


async def test_starttls_required_reply_is_enhanced(start_server):
    service = await start_server(**{"smtp.require_tls": True})
    client, _ = await RawClient.connect(service.address())
    await client.command("EHLO client.example")
    code, text = await client.command("MAIL FROM:<a@example.org>")
    assert (code, text) == (530, "530 5.7.0 Must issue a STARTTLS command first")
    code, text = await client.command("NOOP " + "x" * 600)
    assert code == 500 and ENHANCED.match(text), text
    await client.close()
