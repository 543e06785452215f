"""Mail robots answer exactly the mail RFC 3834 allows (issue 15, items 3 and 4).

Mail goes into the gateway over real SMTP; replies leave through a real SMTP server on
loopback acting as the smarthost. A message that must not be answered is followed by
the robot's suppression being counted, and then nothing has reached the smarthost.
"""

from __future__ import annotations

import asyncio
import smtplib
import sqlite3

import pytest

from .conftest import counted, set_robot, wait_for

SENDER = "customer@example.org"
ORIGINAL = (
    "From: Customer <customer@example.org>\r\n"
    "To: desk@example.test\r\n"
    "Subject: secret plans\r\n"
    "Message-ID: <q1@example.org>\r\n"
    "References: <q0@example.org>\r\n"
    "{extra}"
    "\r\n"
    "The confidential body of the original.\r\n"
)


def send(port: int, sender: str, to: str, extra: str = "", client_tls=None) -> None:
    raw = ORIGINAL.format(extra=extra).encode()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=client_tls)
        client.sendmail(sender, [to], raw)


@pytest.fixture
def desk(store, mailbox):
    box, _ = mailbox
    store.mailboxes.add_alias(box.id, "desk@example.test", actor=None)
    set_robot(store, box.id, copy_to="supervisor@example.net")
    return box


async def test_a_personal_message_is_answered_with_the_right_headers(
    gateway, gateway_context, smarthost, desk, client_tls
):
    port = gateway.addresses[0][1]
    await asyncio.to_thread(send, port, SENDER, "Desk@example.test", "", client_tls)
    await wait_for(lambda: len(smarthost.received) == 2)
    reply, copy = smarthost.received
    assert (reply.sender, reply.recipients, reply.tls) == ("<>", [SENDER], True)
    assert copy.recipients == ["supervisor@example.net"] and copy.data == reply.data
    message = reply.message
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["From"] == "desk@example.test"
    assert message["To"] == SENDER
    assert message["Subject"] == "We received your message"
    assert message["In-Reply-To"] == "<q1@example.org>"
    assert message["References"] == "<q0@example.org> <q1@example.org>"
    assert message["Message-ID"] and message["Message-ID"] != "<q1@example.org>"
    assert message["Date"]
    assert message.get_content().strip() == "Thank you. A person reads this address on weekdays."
    assert b"secret plans" not in reply.data and b"confidential" not in reply.data
    assert counted(gateway_context, "sent", "ok") == 1
    assert len(desk_messages(gateway_context, desk)) == 1  # the original is stored too


def desk_messages(ctx, box):
    return ctx.store._store.messages.list(box.id)


NOT_ANSWERED = {
    "null sender": ("", "", "null_sender"),
    "Auto-Submitted: auto-generated": (
        SENDER,
        "Auto-Submitted: auto-generated\r\n",
        "auto_submitted",
    ),
    "Auto-Submitted: auto-replied": (SENDER, "Auto-Submitted: auto-replied\r\n", "auto_submitted"),
    "List-Id": (SENDER, "List-Id: <news.example.org>\r\n", "list"),
    "List-Unsubscribe": (SENDER, "List-Unsubscribe: <mailto:u@example.org>\r\n", "list"),
    "Precedence: bulk": (SENDER, "Precedence: bulk\r\n", "precedence"),
    "Precedence: list": (SENDER, "Precedence: list\r\n", "precedence"),
    "Precedence: junk": (SENDER, "Precedence: junk\r\n", "precedence"),
    "Exchange journal report": (
        "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.org",
        "X-MS-Exchange-Organization-Journal-Report: \r\n",
        "journal_report",
    ),
    "X-MS-Journal-Report": (SENDER, "X-MS-Journal-Report: \r\n", "journal_report"),
    "Exchange 2003 journal report": (
        SENDER,
        "Content-Identifier: ExJournalReport\r\n",
        "journal_report",
    ),
    "X-Auto-Response-Suppress": (
        SENDER,
        "X-Auto-Response-Suppress: OOF, AutoReply\r\n",
        "auto_response_suppress",
    ),
    "our own address": ("journal@example.test", "", "own_address"),
    "mailer-daemon": ("MAILER-DAEMON@example.org", "", "system_sender"),
    "a -request address": ("news-request@example.org", "", "system_sender"),
}


@pytest.mark.parametrize("case", NOT_ANSWERED)
async def test_mail_rfc_3834_forbids_answering_gets_no_reply(
    gateway, gateway_context, smarthost, desk, client_tls, case
):
    sender, extra, reason = NOT_ANSWERED[case]
    port = gateway.addresses[0][1]
    await asyncio.to_thread(send, port, sender, "desk@example.test", extra, client_tls)
    await wait_for(lambda: counted(gateway_context, "suppressed", reason) == 1)
    assert smarthost.received == []
    assert counted(gateway_context, "sent", "ok") == 0
    assert len(desk_messages(gateway_context, desk)) == 1  # stored all the same


async def test_auto_submitted_no_is_answered(gateway, gateway_context, smarthost, desk, client_tls):
    port = gateway.addresses[0][1]
    await asyncio.to_thread(
        send, port, SENDER, "desk@example.test", "Auto-Submitted: no\r\n", client_tls
    )
    await wait_for(lambda: counted(gateway_context, "sent", "ok") == 1)


async def test_one_reply_per_sender_per_interval(
    gateway, gateway_context, smarthost, desk, client_tls, data_dir
):
    port = gateway.addresses[0][1]
    await asyncio.to_thread(send, port, SENDER, "desk@example.test", "", client_tls)
    await wait_for(lambda: counted(gateway_context, "sent", "ok") == 1)
    await asyncio.to_thread(send, port, SENDER, "desk@example.test", "", client_tls)
    await wait_for(lambda: counted(gateway_context, "suppressed", "already_replied") == 1)
    assert [r.recipients for r in smarthost.received] == [[SENDER], ["supervisor@example.net"]]
    await asyncio.to_thread(send, port, "other@example.org", "desk@example.test", "", client_tls)
    await wait_for(lambda: counted(gateway_context, "sent", "ok") == 2)
    # The memory holds keyed digests only: neither address is anywhere in the index.
    conn = sqlite3.connect(data_dir / "gateway.db")
    conn.execute("PRAGMA wal_checkpoint(FULL)")
    rows = conn.execute("SELECT sender_mac FROM robot_replies").fetchall()
    conn.close()
    assert len(rows) == 2 and all(r[0].startswith("mac:v1:") for r in rows)
    for path in data_dir.glob("gateway.db*"):
        raw = path.read_bytes().lower()
        assert b"customer@example.org" not in raw and b"other@example.org" not in raw, path


async def test_a_robot_outside_its_window_does_not_answer(
    gateway, gateway_context, smarthost, store, mailbox, client_tls
):
    box, _ = mailbox
    set_robot(store, box.id, starts=4_000_000_000.0)
    port = gateway.addresses[0][1]
    await asyncio.to_thread(send, port, SENDER, "journal@example.test", "", client_tls)
    await wait_for(lambda: counted(gateway_context, "suppressed", "outside_window") == 1)
    assert smarthost.received == []


async def test_a_smarthost_that_is_down_costs_the_reply_never_the_message(
    gateway_context, store, mailbox, client_tls
):
    from gateway.smtp import start_smtp
    from tests.support.ports import free_port

    box, _ = mailbox
    set_robot(store, box.id)
    gateway_context.settings = gateway_context.settings.replace(
        relay__smarthost=f"127.0.0.1:{free_port()}", relay__timeout=5.0
    )
    service = await start_smtp(gateway_context)
    try:
        await asyncio.to_thread(send, service.addresses[0][1], SENDER, box.address, "", client_tls)
        await wait_for(lambda: counted(gateway_context, "failed", "temporary") == 1)
        # Not remembered as answered: the next message is tried again.
        await asyncio.to_thread(send, service.addresses[0][1], SENDER, box.address, "", client_tls)
        await wait_for(lambda: counted(gateway_context, "failed", "temporary") == 2)
    finally:
        await service.stop(1)
    assert counted(gateway_context, "suppressed", "already_replied") == 0
    assert len(store.messages.list(box.id)) == 2
