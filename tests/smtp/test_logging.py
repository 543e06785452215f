"""One log line per transaction; journal reports counted; no content, addresses on request."""

from __future__ import annotations

import logging

import aiosmtplib

from tests.support.metrics import metric

from .helpers import RawClient, fixture, stuff

SECRET_SUBJECT = "Subject: merger with fabrikam (strictly confidential)"


def transaction_lines(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "gateway.smtp" and r.getMessage().startswith("smtp transaction ")
    ]


async def send_all(smtp, client_tls, messages: list[bytes], sender="cfo@contoso.example"):
    host, port = smtp.address()
    client = aiosmtplib.SMTP(hostname=host, port=port, tls_context=client_tls, start_tls=True)
    async with client:
        for raw in messages:
            await client.sendmail(sender, ["journal@example.test"], raw)


async def test_one_line_per_transaction_without_addresses_or_content(smtp, mbx, client_tls, caplog):
    caplog.set_level(logging.DEBUG)
    raw = f"{SECRET_SUBJECT}\r\n\r\nThe price is 42.\r\n".encode()
    await send_all(smtp, client_tls, [raw, fixture("exchange_online_7bit.eml")])
    lines = transaction_lines(caplog)
    assert len(lines) == 2
    fields = dict(part.split("=", 1) for part in lines[0].split()[2:])
    assert set(fields) == {
        "time", "client", "tls", "size", "mailboxes", "messages", "journal", "result", "duration"
    }  # fmt: skip
    assert fields["client"] == "127.0.0.1" and fields["tls"].startswith("TLSv1.")
    assert fields["size"] == str(len(raw)) and fields["mailboxes"] == mbx.id
    assert fields["journal"] == "none" and fields["result"] == "250_2.0.0"
    assert "journal=exchange " in lines[1]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for private in ("merger", "price is 42", "cfo@contoso.example", "journal@example.test"):
        assert private not in everything


async def test_addresses_are_logged_when_configured(start_server, mbx, client_tls, caplog):
    caplog.set_level(logging.INFO)
    service = await start_server(**{"smtp.log_addresses": True})
    await send_all(service, client_tls, [b"Subject: x\r\n\r\nx\r\n"])
    [line] = transaction_lines(caplog)
    assert "from=<cfo@contoso.example> to=<journal@example.test>" in line


async def test_refused_recipients_and_abandoned_transactions_are_logged(smtp, mbx, caplog):
    caplog.set_level(logging.INFO)
    client, _ = await RawClient.connect(smtp.address())
    await client.command("EHLO client.example")
    await client.command("MAIL FROM:<a@example.org>")
    assert (await client.command("RCPT TO:<nobody@example.test>"))[0] == 550
    await client.command("QUIT")
    await client.close()
    await smtp.wait_idle()
    [line] = transaction_lines(caplog)
    assert "result=quit" in line and "rejected=550_5.1.1" in line and "nobody" not in line
    assert "tls=none" in line


async def test_journal_reports_are_counted_apart(smtp, mbx, client_tls, gateway_context):
    reports = [
        fixture("exchange_online_7bit.eml"),
        fixture("exchange_online_base64.eml"),
        fixture("exchange_online_binary.eml"),
        fixture("exchange_2003.eml"),
        fixture("google_workspace.eml"),
        # The header name in a body, not in the header section, is not a report.
        b"Subject: about journaling\r\n\r\nX-MS-Journal-Report:\r\n",
    ]
    await send_all(smtp, client_tls, reports)
    ctx = gateway_context
    assert metric(ctx, "smtp_journal_reports_total", kind="exchange") == 3
    assert metric(ctx, "smtp_journal_reports_total", kind="exchange2003") == 1
    assert metric(ctx, "smtp_journal_reports_total", kind="none") == 2
    assert metric(ctx, "smtp_messages_total", result="accepted") == 6
    assert metric(ctx, "smtp_copies_stored_total") == 6


async def test_rejections_are_counted(start_server, mbx, gateway_context):
    service = await start_server(**{"smtp.max_message_size": 100})
    client, _ = await RawClient.connect(service.address())
    await client.command("EHLO client.example")
    await client.command("MAIL FROM:<a@example.org>")
    await client.command(f"RCPT TO:<{mbx.address}>")
    await client.command("DATA")
    await client.send(stuff(b"x" * 200))
    assert (await client.reply())[0] == 552
    await client.close()
    assert metric(gateway_context, "smtp_messages_total", result="rejected") == 1
